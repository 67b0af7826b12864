"""Per-model micro-batching: work from all concurrent sessions of one animator is gathered and run together.

Each call to :meth:`ModelScheduler.run` queues one unit of work (a chunk of audio for a session, or its flush).
A scheduler has ``lanes`` worker threads, each with its own queue; a session stays on one lane (its work runs
in order) and new sessions go to the lane with the fewest. A lane takes everything queued on it (up to
``max_batch``) and hands it to the animator's ``run_batch`` in its thread, so the event loop never blocks on
compute, animators that release the GIL (ONNX Runtime) use as many cores as there are lanes, and a batched model
(the neural animator) can evaluate many streams in one call. Animators without batching just loop.

Live streams send their chunks at the same rate but not in step, so a lane that ran whatever was queued would
mostly run batches of one. For an animator with a ``batch_wait_ms`` (the neural one, whose model call costs
about as much for 16 streams as for one) a lane holds its oldest item up to that long, or until every session on
the lane has brought a chunk (a session has at most one item in flight), and runs them all together. Such an
animator gets one lane whatever ``lanes`` says: its batch of every stream is one model call per 20 ms, and more
lanes would only split it into smaller ones that cost nearly as much each (the Python around the model holds
the GIL in any lane).

Only live streams use the schedulers: whole clips run in worker processes (:mod:`.clipwork`), so a stream's
chunk never waits behind a clip. The flush of an animator named in ``process_flush`` (the phonetic one, whose
flush aligns a whole utterance with its transcript in C code that holds the GIL) runs in a forked process on a
copy of the session, whose state then replaces the session's; it blocks neither the lane nor the event loop,
and a client that leaves kills it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import warnings
import weakref
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from facecast.animators.base import Animator, StreamingSession
from facecast.motion import MotionFrame


@dataclass
class Work:
    session: StreamingSession
    pcm: np.ndarray | None  # None: flush
    done: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())
    queued_at: float = field(default_factory=time.monotonic)


class _Lane:
    def __init__(self, animator: Animator, index: int) -> None:
        self.queue: asyncio.Queue[Work] = asyncio.Queue()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"facecast-{animator.name}-{index}")
        self.worker: asyncio.Task | None = None
        self.sessions = 0
        self.cpu_seconds = 0.0  # thread CPU time of the run_batch calls (Python and what runs outside the GIL)
        self.gathering: asyncio.Future | None = None  # while the worker waits for more items: set when they came
        self.wanted = 0  # items queued that end the wait

    def added(self) -> None:
        """An item was queued: end a gathering wait once enough are there."""
        if self.gathering and not self.gathering.done() and self.queue.qsize() >= self.wanted:
            self.gathering.set_result(None)

    async def gather(self, first: Work, most: int, wait_s: float) -> None:
        """Wait until ``most`` items (``first``, already taken, and the queued ones) are there or ``first`` has
        waited ``wait_s`` since it was queued."""
        left = first.queued_at + wait_s - time.monotonic()
        if left <= 0 or self.queue.qsize() + 1 >= most:
            return
        loop = asyncio.get_running_loop()
        self.gathering, self.wanted = loop.create_future(), most - 1
        timer = loop.call_later(left, _resolve, self.gathering)
        try:
            await self.gathering
        finally:
            timer.cancel()
            self.gathering = None


ProcessCall = Callable[..., Awaitable[Any]]  # (fn, *args) -> fn(*args) run in a worker process


def flush_copy(animator: str, session: StreamingSession) -> tuple[list[MotionFrame] | Exception, StreamingSession]:
    """In a worker process: flush a copy of ``session`` the way the scheduler would; the frames (or the error)
    and the session's state after it, with the warnings the flush raised (a transcript that does not fit the
    audio) in its ``metadata["warnings"]``, for the stream's final status. (The process has one thread, so the
    warnings it catches are this flush's own.)"""
    from facecast import wire
    from facecast.animators import get_animator

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = get_animator(animator).run_batch([(session, None)])[0]
    raised = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    if raised:
        session.metadata["warnings"] = wire.bounded_warnings([*session.metadata.get("warnings", []), *raised])
    return result, session


class ModelScheduler:
    def __init__(self, animator: Animator, max_batch: int = 64, lanes: int = 1,
                 process_call: ProcessCall | None = None) -> None:
        self.animator = animator
        self.max_batch = max_batch
        self.process_call = process_call
        self._lanes = [_Lane(animator, i) for i in range(1 if animator.batch_wait_ms > 0 else max(1, lanes))]
        self._lane_of: weakref.WeakKeyDictionary[StreamingSession, _Lane] = weakref.WeakKeyDictionary()
        self.batches = 0
        self.items = 0

    @property
    def queued(self) -> int:
        return sum(lane.queue.qsize() for lane in self._lanes)

    def _lane(self, session: StreamingSession) -> _Lane:
        lane = self._lane_of.get(session)
        if lane is None:
            lane = min(self._lanes, key=lambda candidate: candidate.sessions)
            lane.sessions += 1
            self._lane_of[session] = lane
            weakref.finalize(session, _leave, lane)
        return lane

    async def run(self, session: StreamingSession, pcm: np.ndarray | None) -> list[MotionFrame]:
        """Queue ``pcm`` (or a flush when None) for ``session`` and wait for its frames."""
        if pcm is None and self.process_call is not None:
            return await self._flush_in_process(session)
        lane = self._lane(session)
        if lane.worker is None:
            lane.worker = asyncio.get_running_loop().create_task(self._serve(lane))
        work = Work(session, pcm)
        lane.queue.put_nowait(work)  # unbounded: never waits
        lane.added()
        return await work.done

    async def _flush_in_process(self, session: StreamingSession) -> list[MotionFrame]:
        assert self.process_call is not None  # the caller awaited the session's earlier work: nothing is queued
        result, after = await self.process_call(flush_copy, self.animator.name, session)
        session.__dict__.update(after.__dict__)
        self.items += 1
        if isinstance(result, BaseException):
            raise result
        return result

    async def _serve(self, lane: _Lane) -> None:
        loop = asyncio.get_running_loop()
        wait_s = self.animator.batch_wait_ms / 1000
        while True:
            batch = [await lane.queue.get()]
            if wait_s > 0 and lane.sessions > 1:
                await lane.gather(batch[0], min(self.max_batch, lane.sessions), wait_s)
            while len(batch) < self.max_batch and not lane.queue.empty():
                batch.append(lane.queue.get_nowait())
            live = [w for w in batch if not w.done.cancelled()]  # a client that left ends its work here
            if not live:
                continue
            results = await loop.run_in_executor(lane.executor, self._run, lane, [(w.session, w.pcm) for w in live])
            self.batches += 1
            self.items += len(live)
            for work, result in zip(live, results):
                if work.done.cancelled():
                    continue
                if isinstance(result, BaseException):
                    work.done.set_exception(result)
                else:
                    work.done.set_result(result)

    def _run(self, lane: _Lane, work: list[tuple[StreamingSession, np.ndarray | None]]) -> list[Any]:
        """In the lane's thread: the batch, with the thread's CPU time counted."""
        start = time.thread_time()
        try:
            return self.animator.run_batch(work)
        finally:
            lane.cpu_seconds += time.thread_time() - start

    @property
    def cpu_seconds(self) -> float:
        return sum(lane.cpu_seconds for lane in self._lanes)

    async def close(self) -> None:
        for lane in self._lanes:
            if lane.worker:
                lane.worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await lane.worker
            lane.executor.shutdown(wait=False, cancel_futures=True)


def _resolve(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


def _leave(lane: _Lane) -> None:
    lane.sessions -= 1


class Schedulers:
    """One :class:`ModelScheduler` per animator name, created on first use."""

    def __init__(self, max_batch: int = 64, lanes: int = 1, process_call: ProcessCall | None = None,
                 process_flush: frozenset[str] = frozenset()) -> None:
        self.max_batch = max_batch
        self.lanes = lanes
        self.process_call, self.process_flush = process_call, process_flush
        self._by_name: dict[str, ModelScheduler] = {}

    def for_animator(self, animator: Animator) -> ModelScheduler:
        if animator.name not in self._by_name:
            call = self.process_call if animator.name in self.process_flush else None
            self._by_name[animator.name] = ModelScheduler(animator, self.max_batch, self.lanes, call)
        return self._by_name[animator.name]

    @property
    def cpu_seconds(self) -> float:
        """Thread CPU time the lanes of every scheduler have spent in ``run_batch``."""
        return sum(s.cpu_seconds for s in self._by_name.values())

    @property
    def queued(self) -> dict[tuple[tuple[str, str], ...], float]:
        return {(("animator", name),): float(s.queued) for name, s in self._by_name.items()}

    async def close(self) -> None:
        for scheduler in self._by_name.values():
            await scheduler.close()
