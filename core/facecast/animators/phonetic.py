"""The ``phonetic`` animator: phone timings -> visemes with coarticulation -> ARKit curves; prosody -> brows,
nods and head turns; blinks (more at pauses) and gaze from :mod:`facecast.animators.idle`; emotion offsets.

Where the phones come from (options of ``animate`` / ``stream``):
- ``phones=[Phone, ...]``: given timings (from a TTS engine): exact, used by the corpus teacher;
- ``text="..."`` (and ``language=``, default ``"en"``): forced alignment of the transcript with pocketsphinx;
- neither: phone recognition with pocketsphinx's English phone model (also on other languages).
Alignment and recognition are completed by the acoustic lip-closure detector (:mod:`facecast.phonemes.closures`).

Offline, recognition and alignment see the whole clip. Streaming recognises blocks of
:data:`BLOCK_S` seconds with :data:`CONTEXT_S` of context on each side, so a frame is emitted at most
``BLOCK_S + CONTEXT_S`` after its time (that is :attr:`PhoneticAnimator.lookahead_ms`, 1.1 s); the phones
recognised in a block's right context stand in for the next block's until it is decoded, for anticipation.
Streamed phones, and so the mouth, differ a little from offline recognition near block edges. Streaming with
``text`` aligns when the audio ends (``flush``): alignment needs the whole utterance.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from facecast.animators.base import Animator, StreamingSession
from facecast.animators.coarticulation import REACH_S, articulator_tracks, mouth_curves
from facecast.animators.expression import emotion_offset
from facecast.animators.idle import IdleMotion, blink_shape
from facecast.animators.prosody import WINDOW, ProsodyTracker, windows_at
from facecast.audio import MODEL_RATE, Audio
from facecast.controls import Controls
from facecast.motion import CHANNEL_INDEX as C
from facecast.motion import DEFAULT_FPS, NUM_BLENDSHAPES, MotionFrame, ProgressCallback
from facecast.phonemes import Phone
from facecast.phonemes.inventory import SILENCE
from facecast.phonemes.languages import check_language
from facecast.phonemes.sources import heard_phones, phones_for

BLOCK_S, CONTEXT_S = 0.8, 0.3
PAUSE_S = 0.25  # a silence this long ends a phrase
PAUSE_BLINK_PROBABILITY = 0.6
IDLE_BLINK_SHARE = 0.75  # the rest of the blink rate comes from pauses
TURN_STD_RAD = 0.05
NOD_RAD, BROW_INNER, BROW_OUTER = 0.06, 0.3, 0.18
# Louder speech opens the jaw wider: the viseme's opening is scaled by FLOOR + SLOPE * loudness (0..1).
LOUDNESS_FLOOR, LOUDNESS_SLOPE = 0.55, 0.6
# The jaw opens for a syllable's nucleus before it is loudest: loudness is read this far ahead of each frame.
LOUDNESS_LEAD_S = 0.05


def _draw(seed: int, salt: int, when: float) -> np.random.Generator:
    """A generator that depends only on the seed and an event's time: order-free, so streaming == offline."""
    return np.random.default_rng([seed, salt, int(round(when * 100))])


class CurveRenderer:
    """Renders frames in order from the phones known so far and the audio; keeps state between calls."""

    def __init__(self, controls: Controls, fps: int) -> None:
        self.fps = fps
        self.prosody = ProsodyTracker(fps)
        self.idle = IdleMotion(controls.seed)

    def render(self, indices: np.ndarray, phones: list[Phone], buffer: np.ndarray, buffer_start: int,
               controls: Controls) -> list[MotionFrame]:
        if len(indices) == 0:
            return []
        times = indices / self.fps
        near = [p for p in phones if p.end > times[0] - REACH_S - 0.1 and p.start < times[-1] + REACH_S + 0.1]
        windows = windows_at(buffer, buffer_start, np.round((times + LOUDNESS_LEAD_S) * MODEL_RATE).astype(np.int64),
                             WINDOW)
        pauses = [p for p in phones if p.symbol == SILENCE and p.duration >= PAUSE_S]
        prosody = self.prosody.update(windows, self._turn_targets(times, pauses, controls))
        gain = LOUDNESS_FLOOR + LOUDNESS_SLOPE * prosody["openness"]
        values = mouth_curves(articulator_tracks(near, times, self.fps), gain, controls.intensity)
        strength = controls.intensity
        values[:, C["BrowInnerUp"]] += BROW_INNER * prosody["brow"] * strength
        values[:, C["BrowOuterUpLeft"]] += BROW_OUTER * prosody["brow"] * strength
        values[:, C["BrowOuterUpRight"]] += BROW_OUTER * prosody["brow"] * strength
        values[:, C["HeadPitch"]] += NOD_RAD * prosody["nod"] * controls.head_motion
        values[:, C["HeadYaw"]] += prosody["turn"] * controls.head_motion
        idle_controls = Controls(**{**controls.to_dict(), "blink_rate": controls.blink_rate * IDLE_BLINK_SHARE})
        self.idle.apply(values, times, idle_controls, extra_blinks=self._pause_blinks(times, pauses, controls))
        values += emotion_offset(controls)
        np.clip(values[:, :NUM_BLENDSHAPES], 0.0, 1.0, out=values[:, :NUM_BLENDSHAPES])
        zeros = np.zeros(3, np.float32)
        return [MotionFrame(int(i), float(t), v, zeros) for i, t, v in zip(indices, times, values)]

    def _pause_blinks(self, times: np.ndarray, pauses: list[Phone], controls: Controls) -> np.ndarray:
        if controls.blink_rate <= 0:
            return np.zeros_like(times, dtype=np.float32)
        starts = [p.start + 0.05 for p in pauses
                  if _draw(controls.seed, 1, p.start).random() < PAUSE_BLINK_PROBABILITY]
        return blink_shape(times, np.array(starts))

    def _turn_targets(self, times: np.ndarray, pauses: list[Phone], controls: Controls) -> np.ndarray:
        """Each phrase (speech between pauses) turns the head a little to one side, drawn per phrase."""
        ends = np.array([p.end for p in pauses])
        targets = np.array([_draw(controls.seed, 2, e).normal(0, TURN_STD_RAD) for e in ends])
        idx = np.searchsorted(ends, times, side="right") - 1
        return np.where(idx >= 0, targets[np.maximum(idx, 0)] if len(targets) else 0.0, 0.0)


class PhoneticSession(StreamingSession):
    def __init__(self, controls: Controls, fps: int, phones: list[Phone] | None = None, text: str | None = None,
                 language: str = "en") -> None:
        super().__init__(controls, fps)
        self._given = sorted(phones, key=lambda p: p.start) if phones is not None else None
        self._text, self._language = text, language
        self.phones: list[Phone] = list(self._given or [])
        self.phone_source = "given" if phones is not None else ("alignment" if text else "recognition")
        self._buffer = np.zeros(0, np.float32)
        self._buffer_start = 0  # absolute sample index of self._buffer[0]
        self._blocks_done = 0
        self._provisional: list[Phone] = []  # phones heard in the last block's right context
        self._renderer = CurveRenderer(self.controls, self.fps)

    def push(self, pcm: np.ndarray) -> list[MotionFrame]:
        pcm = np.asarray(pcm, np.float32).reshape(-1)
        self._buffer = np.concatenate([self._buffer, pcm])
        self.samples_received += len(pcm)
        received = self.samples_received / MODEL_RATE
        if self._given is not None:
            known_until = received - WINDOW / 2 / MODEL_RATE - LOUDNESS_LEAD_S
        elif self._text:
            return []  # alignment needs the whole utterance
        else:
            while (self._blocks_done + 1) * BLOCK_S + CONTEXT_S <= received:
                self._recognize_block(self._blocks_done)
                self._blocks_done += 1
            known_until = self._blocks_done * BLOCK_S
        stop = min(self.total_frames, max(0, math.floor(known_until * self.fps) + 1))
        return self._emit(stop)

    def flush(self) -> list[MotionFrame]:
        received = self.samples_received / MODEL_RATE
        if self._given is None and self._text:  # the whole utterance is still buffered (see _trim)
            self.phones, self.phone_source = phones_for(self._buffer, self._text, self._language)
        elif self._given is None:
            while self._blocks_done * BLOCK_S < received:
                self._recognize_block(self._blocks_done)
                self._blocks_done += 1
            self._provisional = []
        return self._emit(self.total_frames)

    def _recognize_block(self, block: int) -> None:
        lo, hi = block * BLOCK_S, (block + 1) * BLOCK_S
        start = max(0.0, lo - CONTEXT_S)
        first = int(start * MODEL_RATE) - self._buffer_start
        segment = self._buffer[first:int((hi + CONTEXT_S) * MODEL_RATE) - self._buffer_start]
        heard = heard_phones(segment, offset=start)
        self.phones += [p for p in heard if lo <= p.center < hi]
        self._provisional = [p for p in heard if p.center >= hi]

    def _emit(self, stop: int) -> list[MotionFrame]:
        indices = np.arange(self.frames_emitted, stop)
        frames = self._renderer.render(indices, self.phones + self._provisional, self._buffer, self._buffer_start,
                                       self.controls)
        self.frames_emitted = max(self.frames_emitted, stop)
        self._trim()
        return frames

    def _trim(self) -> None:
        """Drop audio that no later frame or block needs (all of it is kept when aligning at the end)."""
        if self._given is None and self._text:
            return
        keep_from = round(self.frames_emitted / self.fps * MODEL_RATE) - WINDOW
        if self._given is None:
            keep_from = min(keep_from, int((self._blocks_done * BLOCK_S - CONTEXT_S) * MODEL_RATE))
        drop = min(max(keep_from - self._buffer_start, 0), len(self._buffer))
        if drop:
            self._buffer = self._buffer[drop:]
            self._buffer_start += drop


class PhoneticAnimator(Animator):
    name = "phonetic"
    description = ("phone timings (TTS, transcript alignment or phone recognition) -> visemes with "
                   "coarticulation; prosody -> brows and head; blinks and gaze")
    lookahead_ms = (BLOCK_S + CONTEXT_S) * 1000
    accepts_text = True

    def stream(self, controls: Controls | None = None, fps: int = DEFAULT_FPS, **options: Any) -> StreamingSession:
        return PhoneticSession(controls or Controls(), fps, phones=options.get("phones"), text=options.get("text"),
                               language=check_language(options.get("language") or "en"))

    def clip_prework(self, **options: Any) -> str | None:
        return None if options.get("phones") is not None else "hearing phones"

    def clip_session(self, audio: Audio, controls: Controls, fps: int, progress: ProgressCallback | None = None,
                     **options: Any) -> StreamingSession:
        """Alignment or recognition sees the entire clip first (better than block-wise streaming)."""
        phones, source = options.get("phones"), "given"
        language = check_language(options.get("language") or "en")
        if phones is None:
            phones, source = phones_for(audio.samples, options.get("text"), language, progress)
        session = PhoneticSession(controls, fps, phones=phones)
        session.metadata = {"phone_source": source,
                            "phones": [[p.symbol, round(p.start, 4), round(p.end, 4)] for p in phones]}
        return session
