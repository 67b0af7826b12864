"""Whole clips (``Animate``) animated in worker processes.

Decoding a 600 s file, aligning a long transcript or recognising phones holds a core for seconds to minutes.
Each clip runs in a process of its own, forked from a warm fork server (the animators already imported), so
the daemon's event loop and its live streams never wait for it, clips use the other cores, and a call that
ends early (the client left, or the daemon stops) kills its process at once: cancelled work stops.

The worker sends ``("ready", duration)`` once the clip is decoded; then, while the animator does slow work
before the clip's first frame (its ``clip_prework``: phone recognition for fused ``neural`` and ``phonetic``
clips), ``("progress", stage, seconds_done, seconds_in_all)`` as the animator reports it (recognition: once per
2 s piece of audio); then
``("frames", frames, start_sample, samples_or_None)`` per slice, then
``("done", frames, compute_seconds, warnings)`` (the ``UserWarning``s the animation raised, such as a transcript
that does not fit the audio, as :func:`facecast.wire.bounded_warnings`);
``("invalid", message)`` for bad input, ``("failed", message)`` for anything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import time
import warnings
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from facecast.audio import MODEL_RATE
from facecast.controls import Controls
from facecast.errors import FacecastError, InvalidInput
from facecast.server.calls import WorkerFailed
from facecast.server.clipcost import ClipCost
from facecast.server.sessions import SessionLimitReached

SLICE_SECONDS = 2.0  # frames come back (and texture frames, audio echo go out) every 2 s of audio
PRELOAD = ["facecast.server.clipwork", "facecast.wire", "facecast.server.clipwarm"]


@dataclass
class ClipJob:
    audio: bytes  # a serialized facecast.v1.AudioInput
    max_seconds: float
    animator: str
    controls: Controls
    fps: int
    options: dict[str, Any]
    echo: bool
    seconds: float | None = None  # of audio, where the request declares it (raw PCM): for admission


def work(conn: Connection, job: ClipJob) -> None:
    """The worker process: animate ``job`` and report on ``conn``."""
    from facecast import wire
    from facecast.animators import get_animator
    from facecast.proto import facecast_pb2 as pb

    started = time.perf_counter()
    try:
        # recorded, not printed on the daemon's stderr: they go back to the caller with the final Status
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            audio = wire.decode_audio(pb.AudioInput.FromString(job.audio), job.max_seconds)
            animator = get_animator(job.animator)
            conn.send(("ready", audio.duration))
            stage = animator.clip_prework(**job.options)
            session = animator.clip_session(audio, job.controls, job.fps,
                                            progress=_Reports(conn, stage) if stage else None, **job.options)
            step = int(SLICE_SECONDS * MODEL_RATE)
            for start in range(0, len(audio.samples), step):
                chunk = audio.samples[start:start + step]
                conn.send(("frames", session.push(chunk), start, chunk if job.echo else None))
            conn.send(("frames", session.flush(), None, None))
        raised = wire.bounded_warnings(str(w.message) for w in caught if issubclass(w.category, UserWarning))
        conn.send(("done", session.frames_emitted, time.perf_counter() - started, raised))
    except FacecastError as e:
        conn.send(("invalid", str(e)))
    except Exception as e:  # reported to the call, which ends in INTERNAL with this message
        conn.send(("failed", f"{type(e).__name__}: {e}"))
    finally:
        conn.close()


class _Reports:
    """``progress(seconds done, seconds in all)`` of stage ``stage``, sent on ``conn`` as ``("progress", stage,
    done, total)``."""

    def __init__(self, conn: Connection, stage: str) -> None:
        self.conn, self.stage = conn, stage

    def __call__(self, done: float, total: float) -> None:
        self.conn.send(("progress", self.stage, float(done), float(total)))


def _nothing() -> None:
    pass


def _call(conn: Connection, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        conn.send(("done", fn(*args)))
    except Exception as e:  # handed back to the caller, which raises it
        conn.send(("error", e))
    finally:
        conn.close()


class ClipWorkers:
    """At most ``workers`` clips run at once; more wait for a slot while what they would wait, measured
    (:class:`~facecast.server.clipcost.ClipCost`), is within ``max_wait`` seconds and the call's deadline, and
    at most ``max_waiting`` of them; past that a call is refused with RESOURCE_EXHAUSTED."""

    def __init__(self, workers: int, max_waiting: int, max_wait: float = float("inf")) -> None:
        self.workers, self.max_waiting, self.max_wait = workers, max_waiting, max_wait
        self.cost = ClipCost(workers)
        self.running = 0
        self.waiting = 0
        self._slots: asyncio.Semaphore | None = None
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(PRELOAD)

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` in a forked worker process (``fn`` and the arguments picklable), not counted against the
        clip slots; cancelling the call kills the process. An exception ``fn`` raises is raised here."""
        receiver, sender = self._context.Pipe(duplex=False)
        process = self._context.Process(target=_call, args=(sender, fn, args), daemon=True, name="facecast-call")
        try:
            await _start(process, sender)
            message = await _receive(receiver)
        finally:
            if process.pid is not None and process.exitcode is None:
                process.kill()
            receiver.close()
        if message is None:
            raise WorkerFailed(f"the worker process ended without an answer (exit code {process.exitcode})")
        if message[0] == "error":
            raise message[1]
        return message[1]

    def start(self) -> None:
        """Start the fork server and wait until it is warm (call it in a thread: this takes a few seconds, the
        first time it imports and loads the animators)."""
        process = self._context.Process(target=_nothing, daemon=True, name="facecast-clip-warmup")
        process.start()
        process.join(120)

    async def run(self, job: ClipJob, time_left: float | None = None) -> AsyncIterator[tuple[Any, ...]]:
        """The worker's messages for ``job``, ending with ``done``; bad input raises InvalidInput, a failed or
        dead worker :class:`WorkerFailed`. Leaving the iteration early kills the worker. ``time_left``: seconds
        to the call's deadline (None: none)."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.workers)
        if self._slots.locked():
            self._check_wait(time_left)
        self.waiting += 1
        try:
            with self.cost.waiting(job.animator, job.seconds):
                await self._slots.acquire()
        finally:
            self.waiting -= 1
        self.running += 1
        multiprocessing.active_children()  # reaps the workers that ended since the last clip
        receiver, sender = self._context.Pipe(duplex=False)
        process = self._context.Process(target=work, args=(sender, job), daemon=True, name="facecast-clip")
        try:
            with self.cost.running(job.animator, job.seconds) as clip:
                await _start(process, sender)
                while True:
                    message = await _receive(receiver)
                    if message is None:
                        raise WorkerFailed(f"the clip worker ended without an answer (exit code {process.exitcode})")
                    if message[0] == "invalid":
                        raise InvalidInput(message[1])
                    if message[0] == "failed":
                        raise WorkerFailed(message[1])
                    if message[0] == "done":
                        break
                    if message[0] == "ready":
                        clip.seconds = message[1]
                    yield message
            yield message  # "done", once this clip's cost is counted
        finally:
            if process.pid is not None and process.exitcode is None:
                process.kill()
            receiver.close()
            self.running -= 1
            self._slots.release()


    def _check_wait(self, time_left: float | None) -> None:
        """Refuse a clip that would wait past ``max_wait`` or its deadline, or join too long a queue."""
        if self.waiting >= self.max_waiting:
            raise SessionLimitReached(f"all {self.workers} clip workers are busy and {self.waiting} clips wait; "
                                      "try again later or another replica")
        wait = self.cost.expected_wait()
        limit = self.max_wait if time_left is None else min(self.max_wait, time_left)
        if wait > limit:
            bound = "the call's deadline" if time_left is not None and time_left < self.max_wait else "the limit"
            raise SessionLimitReached(
                f"the clips ahead would keep all {self.workers} clip workers busy for about {wait:.0f} s (measured), "
                f"past {bound} of {limit:.0f} s; try again later or another replica")


async def _start(process: Any, sender: Connection) -> None:
    """Start ``process``: in a thread (this sends its arguments, up to the message limit, to the fork server),
    and finished even if the caller is cancelled meanwhile, so that the caller's cleanup can kill it."""
    starting = asyncio.ensure_future(asyncio.to_thread(process.start))
    try:
        await asyncio.shield(starting)
    finally:
        if not starting.done():
            await starting
        sender.close()


async def _receive(conn: Connection) -> tuple[Any, ...] | None:
    """The next message on ``conn`` without blocking the event loop; None when the worker closed it."""
    loop = asyncio.get_running_loop()
    readable = loop.create_future()
    loop.add_reader(conn.fileno(), lambda: None if readable.done() else readable.set_result(None))
    try:
        await readable
    finally:
        loop.remove_reader(conn.fileno())
    # uvloop (Ray Serve's loop, uvicorn's) leaves the fd non-blocking after add_reader: a message larger than what
    # has arrived so far would then fail with EAGAIN half-read. The worker writes whole messages: wait for the rest.
    os.set_blocking(conn.fileno(), True)
    with contextlib.suppress(EOFError, OSError):
        return conn.recv()
    return None
