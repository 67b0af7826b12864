"""The pump of one live call, shared by the native ``Stream`` and the Audio2Face-3D endpoint: client-rate audio
in (chunk and length limits), resampled to the model rate, scheduled with every other live session of its
animator; frames, texture frames, the audio to echo and the lateness of each chunk out. The two services only
translate their messages to and from it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import numpy as np

from facecast import wire
from facecast.animators.base import StreamingSession
from facecast.audio import StreamResampler
from facecast.errors import AudioError
from facecast.motion import MotionFrame
from facecast.proto import facecast_pb2 as pb
from facecast.server import metrics
from facecast.server.avatars import TextureStream
from facecast.server.capacity import GATHERED, LiveCapacity
from facecast.server.scheduler import ModelScheduler


class EchoBuffer:
    """Received audio as PCM16 bytes, not yet echoed back, starting at sample :attr:`start`."""

    def __init__(self) -> None:
        self._pcm = bytearray()
        self.start = 0

    def __len__(self) -> int:
        return len(self._pcm) // 2

    def add(self, pcm16: bytes) -> None:
        self._pcm += pcm16

    def take_until(self, end_sample: int) -> tuple[int, bytes]:
        """(first sample, PCM16 bytes) of the audio up to ``end_sample``, removed from the buffer."""
        count = max(0, min(end_sample - self.start, len(self)))
        chunk = bytes(self._pcm[:2 * count])
        del self._pcm[:2 * count]
        start, self.start = self.start, self.start + count
        return start, chunk


class LiveSession:
    """One live call's session after its config: :meth:`push` client audio, :meth:`finish` at its end."""

    def __init__(self, session: StreamingSession, scheduler: ModelScheduler, rate: int, max_chunk_seconds: float,
                 max_seconds: float, textures: TextureStream | None = None, capacity: LiveCapacity | None = None,
                 kind: str = "stream", echo: bool = True, cost: str = GATHERED) -> None:
        """``cost``: the stream's cost class for ``capacity`` (what :meth:`DaemonState.admit_animator` returned)."""
        self.session, self.scheduler, self.rate = session, scheduler, rate
        self.max_chunk_seconds, self.max_seconds = max_chunk_seconds, max_seconds
        self.textures, self.capacity, self.kind, self.cost = textures, capacity, kind, cost
        self.resampler = StreamResampler(rate)
        self.samples_received = 0
        self.model_samples_pushed = 0
        self.echo = EchoBuffer()
        self.keeps_echo = echo  # False: the call echoes no audio, so none is kept

    @property
    def seconds_received(self) -> float:
        return self.samples_received / self.rate

    def accept(self, samples: np.ndarray, pcm16: bytes | None = None) -> np.ndarray:
        """Check one chunk of client-rate audio against the limits, keep it for the echo if the call has one
        (``pcm16``: the bytes the client sent, when they are PCM16) and return it at the model rate."""
        if len(samples) > self.max_chunk_seconds * self.rate:
            raise AudioError(f"audio chunks may hold at most {self.max_chunk_seconds:g} s; this one holds "
                             f"{len(samples) / self.rate:.1f} s")
        if (self.samples_received + len(samples)) / self.rate > self.max_seconds:
            raise AudioError(f"the stream is longer than the limit of {self.max_seconds:g} s")
        self.samples_received += len(samples)
        if self.keeps_echo:
            self.echo.add(wire.pcm16_bytes(samples) if pcm16 is None else pcm16)
        return self.resampler(samples)

    async def run(self, pcm: np.ndarray) -> list[MotionFrame]:
        """Model-rate audio through the scheduler."""
        self.model_samples_pushed += len(pcm)
        return await self.scheduler.run(self.session, pcm)

    async def push(self, samples: np.ndarray, pcm16: bytes | None = None) -> list[MotionFrame]:
        return await self.run(self.accept(samples, pcm16))

    def tail(self) -> np.ndarray:
        """End of audio: what the resampler still holds, at the model rate."""
        return self.resampler(np.zeros(0, np.float32), last=True)

    async def flush(self) -> list[MotionFrame]:
        """The session's remaining frames, after the last audio."""
        return await self.scheduler.run(self.session, None)

    async def finish(self) -> list[MotionFrame]:
        """End of audio: the resampler's tail, then the session's flush."""
        tail = self.tail()
        frames = await self.run(tail) if len(tail) else []
        return frames + await self.flush()

    async def render(self, frames: list[MotionFrame]) -> AsyncIterator[pb.MotionResponse]:
        """Texture frames for ``frames`` (none without texture options), rendered a batch of at most
        :data:`facecast.wire.MAX_TEXTURE_BATCH_BYTES` at a time, each sent before the next is rendered."""
        if not self.textures:
            return
        async for batch in self.textures.batches(frames):
            for response in batch:
                yield response

    def sent(self, frames: list[MotionFrame], received_at: float) -> None:
        """Record that ``frames``, determined by the chunk that arrived at ``received_at``
        (``time.perf_counter()``), were handed to gRPC now."""
        self.sent_count(len(frames), received_at)

    def sent_count(self, frames: int, received_at: float) -> None:
        if not frames:
            return
        lateness = time.perf_counter() - received_at
        metrics.DAEMON.frames.inc(frames, kind=self.kind)
        metrics.DAEMON.lateness.observe(lateness)
        if self.capacity:
            self.capacity.observe(lateness, frames, self.cost)
