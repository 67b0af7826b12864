"""How long a new whole clip (``Animate``) would wait for a clip worker, from what clips measurably cost here.

Each clip that finishes updates, per animator, a running mean of its cost rate (worker wall seconds per second
of audio: a phonetic clip costs far more than an energy one) and of the audio length of a clip. A clip's cost is
that rate times its length: known at once for raw PCM, once decoded for an encoded file, until then the mean
length. The wait of a new clip is the work ahead of it, what the running clips still need (their cost less what
they have run) and the waiting clips' costs, shared by the workers. An animator not measured yet counts as free,
so a fresh daemon admits by the queue's length alone. :class:`~facecast.server.clipwork.ClipWorkers` refuses a
clip whose wait would pass ``max_clip_wait_seconds`` or the call's own deadline, rather than letting it wait and
fail late.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from facecast.proto import facecast_pb2 as pb

SMOOTHING = 0.3  # weight of the newest clip in the running means
_BYTES_PER_SAMPLE = {pb.PCM16: 2, pb.FLOAT32: 4}


@dataclass
class Clip:
    animator: str
    seconds: float | None  # of audio; None until an encoded file is decoded
    started: float = field(default_factory=time.monotonic)


def declared_seconds(audio: pb.AudioInput) -> float | None:
    """The length of a request's raw PCM audio (None for an encoded file, known only once decoded)."""
    if audio.WhichOneof("source") != "pcm" or audio.pcm.sample_rate <= 0:
        return None
    return len(audio.pcm.data) / _BYTES_PER_SAMPLE.get(audio.pcm.format, 2) / audio.pcm.sample_rate


class ClipCost:
    def __init__(self, workers: int) -> None:
        self.workers = max(1, workers)
        self.rates: dict[str, float] = {}  # animator -> mean worker seconds per second of audio
        self.lengths: dict[str, float] = {}  # animator -> mean seconds of audio per clip
        self._waiting: dict[int, Clip] = {}
        self._running: dict[int, Clip] = {}
        self._ids = itertools.count()

    def cost(self, clip: Clip) -> float:
        """Worker seconds ``clip`` takes, by what its animator measurably costs (0 before it is measured)."""
        seconds = clip.seconds if clip.seconds is not None else self.lengths.get(clip.animator, 0.0)
        return self.rates.get(clip.animator, 0.0) * seconds

    def expected_wait(self, now: float | None = None) -> float:
        """Seconds a clip queued now would wait for a worker (0 while one is free)."""
        if len(self._running) < self.workers and not self._waiting:
            return 0.0
        now = time.monotonic() if now is None else now
        left = sum(max(0.0, self.cost(clip) - (now - clip.started)) for clip in self._running.values())
        queued = sum(self.cost(clip) for clip in self._waiting.values())
        return (left + queued) / self.workers

    @contextmanager
    def waiting(self, animator: str, seconds: float | None) -> Iterator[Clip]:
        """Count a clip of ``animator`` and ``seconds`` of audio as waiting while the block runs."""
        key = next(self._ids)
        self._waiting[key] = clip = Clip(animator, seconds)
        try:
            yield clip
        finally:
            del self._waiting[key]

    @contextmanager
    def running(self, animator: str, seconds: float | None) -> Iterator[Clip]:
        """Count a clip as running while the block runs (set ``clip.seconds`` once known); a block that ends
        normally is measured."""
        key = next(self._ids)
        self._running[key] = clip = Clip(animator, seconds)
        try:
            yield clip
        finally:
            del self._running[key]
        if clip.seconds:
            self.finished(animator, time.monotonic() - clip.started, clip.seconds)

    def finished(self, animator: str, work_seconds: float, audio_seconds: float) -> None:
        for means, value in ((self.rates, work_seconds / audio_seconds), (self.lengths, audio_seconds)):
            mean = means.get(animator)
            means[animator] = value if mean is None else (1 - SMOOTHING) * mean + SMOOTHING * value
