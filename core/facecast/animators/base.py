"""The animator interface: offline ``animate(audio, controls) -> MotionClip`` and streaming sessions.

A streaming session takes mono float32 PCM at :data:`facecast.audio.MODEL_RATE` in chunks of any size and
returns the frames that the audio received so far determines. Frame ``i`` covers time ``i / fps``; it is
emitted once the audio reaches ``i / fps`` plus the animator's lookahead, so ``lookahead_ms`` is the
algorithmic latency. ``flush()`` ends the utterance and returns the remaining frames. Offline animation is the
same session fed the whole clip, so streaming and offline agree frame for frame.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from facecast._version import __version__
from facecast.audio import MODEL_RATE, Audio
from facecast.controls import Controls
from facecast.motion import DEFAULT_FPS, MotionClip, MotionFrame, ProgressCallback, check_fps

OFFLINE_CHUNK_SECONDS = 10.0
# Of a clip whose session does slow work before its first frame (phone recognition: fused neural, phonetic), the
# share of its time that work takes; the frames then fill the rest of its progress. Measured on the 2-core box:
# 1.90 s of recognition in 2.05 s for a fused 33.6 s clip (docs/NEURAL.md, "Progress of whole clips").
PREWORK_SHARE = 0.9


def run_session(session: StreamingSession, samples: np.ndarray, progress: ProgressCallback | None = None,
                chunk_s: float = OFFLINE_CHUNK_SECONDS) -> list[MotionFrame]:
    """Every frame of a whole clip: its samples (at :data:`MODEL_RATE`) pushed in ``chunk_s`` chunks (0.02: as
    live streams send them), then the flush; ``progress(seconds done, seconds in all)`` after each chunk."""
    frames: list[MotionFrame] = []
    step = max(1, round(chunk_s * MODEL_RATE))
    for start in range(0, len(samples), step):
        frames += session.push(samples[start:start + step])
        if progress:
            progress(min(start + step, len(samples)) / MODEL_RATE, len(samples) / MODEL_RATE)
    return frames + session.flush()


class _Stage:
    """One stage of a clip's progress: its own ``(seconds done, seconds in all)`` put into the span
    ``[start, start + share]`` of the whole; a callback with a ``stage(name)`` method hears the name first."""

    def __init__(self, progress: ProgressCallback, name: str, start: float, share: float) -> None:
        self.progress, self.name, self.start, self.share = progress, name, start, share
        self.announced = False

    def __call__(self, done: float, total: float) -> None:
        if not self.announced:
            self.announced = True
            announce = getattr(self.progress, "stage", None)
            if callable(announce):
                announce(self.name)
        self.progress(total * (self.start + self.share * min(done / total, 1.0)) if total else done, total)


def split_progress(progress: ProgressCallback | None,
                   prework: str | None) -> tuple[ProgressCallback | None, ProgressCallback | None]:
    """``progress`` of a clip as two callbacks, for the work its session does before the first frame (named
    ``prework``, None: there is none) and for the frames: each reports its own pass over the audio and
    ``progress`` sees one rising ``(seconds, seconds in all)``, the prework filling :data:`PREWORK_SHARE` of it."""
    if progress is None or prework is None:
        return None, progress
    return _Stage(progress, prework, 0.0, PREWORK_SHARE), _Stage(progress, "frames", PREWORK_SHARE, 1 - PREWORK_SHARE)


class StreamingSession(ABC):
    """One utterance being animated as its audio arrives."""

    def __init__(self, controls: Controls, fps: int) -> None:
        self.controls = controls.validated()
        self.fps = check_fps(fps)
        self.samples_received = 0
        self.frames_emitted = 0
        self.metadata: dict[str, Any] = {}  # what the session learned that a take should record

    @abstractmethod
    def push(self, pcm: np.ndarray) -> list[MotionFrame]:
        """Add float32 mono samples at the model rate; return the frames that are now determined."""

    @abstractmethod
    def flush(self) -> list[MotionFrame]:
        """End of audio: return every frame not yet emitted, up to the end of the audio."""

    def update_controls(self, controls: Controls) -> None:
        """Change controls mid-utterance; they apply from the next emitted frame."""
        self.controls = controls.validated()

    @property
    def total_frames(self) -> int:
        """Frames that the audio received so far covers: ``ceil(duration * fps)``."""
        return math.ceil(self.samples_received * self.fps / MODEL_RATE - 1e-9)


class Animator(ABC):
    """Turns speech audio into motion. Subclasses set the class attributes and implement :meth:`stream`."""

    name: str = ""
    version: str = __version__
    description: str = ""
    stream_units: float = 1.0  # what one live stream costs the daemon against a plain gathered stream (capacity)
    lookahead_ms: float = 0.0
    accepts_text: bool = False
    # how long the daemon's scheduler may hold a live chunk to gather other streams' chunks into one run_batch
    # call (0: run what is queued at once); worth it where a batch costs much less than its items one by one
    batch_wait_ms: float = 0.0

    @abstractmethod
    def stream(self, controls: Controls | None = None, fps: int = DEFAULT_FPS, **options: Any) -> StreamingSession:
        """Start a streaming session."""

    def clip_session(self, audio: Audio, controls: Controls, fps: int, progress: ProgressCallback | None = None,
                     **options: Any) -> StreamingSession:
        """A session for a clip whose audio is known in advance. Animators that do better seeing the whole clip
        (alignment, recognition) override this; offline :meth:`animate` and the daemon's Animate both use it, so
        they agree frame for frame. ``progress(seconds done, seconds in all)`` follows the work done here before
        the first frame (see :meth:`clip_prework`)."""
        return self.stream(controls, fps, **options)

    def clip_prework(self, **options: Any) -> str | None:
        """What slow work :meth:`clip_session` does with these options before the clip's first frame (a stage
        name such as ``"hearing phones"``), or None: :meth:`animate` shows it as a stage of the clip's progress."""
        return None

    def animate(
        self,
        audio: Audio,
        controls: Controls | None = None,
        fps: int = DEFAULT_FPS,
        progress: ProgressCallback | None = None,
        **options: Any,
    ) -> MotionClip:
        """Animate a whole clip (audio at the model rate) and return the take. ``progress(seconds done, seconds in
        all)`` rises through the whole work, the work before the first frame included (a callback with a
        ``stage(name)`` method also hears each stage's name: ``clip_prework``'s, then ``"frames"``)."""
        if audio.sample_rate != MODEL_RATE:
            raise ValueError(f"animators take audio at {MODEL_RATE} Hz; load it with facecast.audio.load_audio")
        controls = (controls or Controls()).validated()
        before, during = split_progress(progress, self.clip_prework(**options))
        session = self.clip_session(audio, controls, fps, progress=before, **options)
        frames = run_session(session, audio.samples, during)
        return MotionClip.from_frames(fps, frames, {**self.clip_metadata(audio, controls), **session.metadata})

    def run_batch(self, work: list[tuple[StreamingSession, np.ndarray | None]]) -> list[list[MotionFrame] | Exception]:
        """Advance several sessions at once: push each chunk (``None`` means flush). The daemon's scheduler
        calls this with the work of all concurrent streams; a batched model overrides it to run one
        forward pass. An error in one session is returned in its place and does not touch the others."""
        results: list[list[MotionFrame] | Exception] = []
        for session, pcm in work:
            try:
                results.append(session.flush() if pcm is None else session.push(pcm))
            except Exception as e:  # handed back to that session's caller
                results.append(e)
        return results

    def clip_metadata(self, audio: Audio, controls: Controls) -> dict[str, Any]:
        return {
            "animator": self.name,
            "animator_version": self.version,
            "controls": controls.to_dict(),
            "audio_sha256": audio.sha256,
            "sample_rate": audio.sample_rate,
        }

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "description": self.description,
                "lookahead_ms": self.lookahead_ms, "accepts_text": self.accepts_text}
