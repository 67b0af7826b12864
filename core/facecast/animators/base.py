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


def run_session(session: StreamingSession, samples: np.ndarray,
                progress: ProgressCallback | None = None) -> list[MotionFrame]:
    """Every frame of a whole clip: its samples (at :data:`MODEL_RATE`) pushed in :data:`OFFLINE_CHUNK_SECONDS`
    chunks, then the flush; ``progress(seconds done, seconds in all)`` after each chunk."""
    frames: list[MotionFrame] = []
    step = int(OFFLINE_CHUNK_SECONDS * MODEL_RATE)
    for start in range(0, len(samples), step):
        frames += session.push(samples[start:start + step])
        if progress:
            progress(min(start + step, len(samples)) / MODEL_RATE, len(samples) / MODEL_RATE)
    return frames + session.flush()


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
    lookahead_ms: float = 0.0
    accepts_text: bool = False
    # how long the daemon's scheduler may hold a live chunk to gather other streams' chunks into one run_batch
    # call (0: run what is queued at once); worth it where a batch costs much less than its items one by one
    batch_wait_ms: float = 0.0

    @abstractmethod
    def stream(self, controls: Controls | None = None, fps: int = DEFAULT_FPS, **options: Any) -> StreamingSession:
        """Start a streaming session."""

    def clip_session(self, audio: Audio, controls: Controls, fps: int, **options: Any) -> StreamingSession:
        """A session for a clip whose audio is known in advance. Animators that do better seeing the whole clip
        (alignment, recognition) override this; offline :meth:`animate` and the daemon's Animate both use it, so
        they agree frame for frame."""
        return self.stream(controls, fps, **options)

    def animate(
        self,
        audio: Audio,
        controls: Controls | None = None,
        fps: int = DEFAULT_FPS,
        progress: ProgressCallback | None = None,
        **options: Any,
    ) -> MotionClip:
        """Animate a whole clip (audio at the model rate) and return the take."""
        if audio.sample_rate != MODEL_RATE:
            raise ValueError(f"animators take audio at {MODEL_RATE} Hz; load it with facecast.audio.load_audio")
        controls = (controls or Controls()).validated()
        session = self.clip_session(audio, controls, fps, **options)
        frames = run_session(session, audio.samples, progress)
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
