"""Per-model micro-batching: work from all concurrent sessions of one animator is gathered and run together.

Each call to :meth:`ModelScheduler.run` queues one unit of work (a chunk of audio for a session, or its flush).
A single worker per model takes everything queued (up to ``max_batch``) and hands it to the animator's
``run_batch`` in a worker thread, so the event loop never blocks on compute and a batched model (the neural
animator) can evaluate many streams in one call. Animators without batching just loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from facecast.animators.base import Animator, StreamingSession
from facecast.motion import MotionFrame


@dataclass
class Work:
    session: StreamingSession
    pcm: np.ndarray | None  # None: flush
    done: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class ModelScheduler:
    def __init__(self, animator: Animator, max_batch: int = 64) -> None:
        self.animator = animator
        self.max_batch = max_batch
        self._queue: asyncio.Queue[Work] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"facecast-{animator.name}")
        self._worker: asyncio.Task | None = None
        self.batches = 0
        self.items = 0

    async def run(self, session: StreamingSession, pcm: np.ndarray | None) -> list[MotionFrame]:
        """Queue ``pcm`` (or a flush when None) for ``session`` and wait for its frames."""
        if self._worker is None:
            self._worker = asyncio.get_running_loop().create_task(self._serve())
        work = Work(session, pcm)
        await self._queue.put(work)
        return await work.done

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            live = [w for w in batch if not w.done.cancelled()]
            if not live:
                continue
            results = await loop.run_in_executor(
                self._executor, self.animator.run_batch, [(w.session, w.pcm) for w in live])
            self.batches += 1
            self.items += len(live)
            for work, result in zip(live, results):
                if work.done.cancelled():
                    continue
                if isinstance(result, BaseException):
                    work.done.set_exception(result)
                else:
                    work.done.set_result(result)

    async def close(self) -> None:
        if self._worker:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        self._executor.shutdown(wait=False, cancel_futures=True)


class Schedulers:
    """One :class:`ModelScheduler` per animator name, created on first use."""

    def __init__(self, max_batch: int = 64) -> None:
        self.max_batch = max_batch
        self._by_name: dict[str, ModelScheduler] = {}

    def for_animator(self, animator: Animator) -> ModelScheduler:
        if animator.name not in self._by_name:
            self._by_name[animator.name] = ModelScheduler(animator, self.max_batch)
        return self._by_name[animator.name]

    async def close(self) -> None:
        for scheduler in self._by_name.values():
            await scheduler.close()
