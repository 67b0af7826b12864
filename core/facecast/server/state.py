"""What the daemon's services share: config, sessions, schedulers, avatars, executors, clip workers, the
measured live capacity and the model check. The native service (:mod:`.servicer`) and the Audio2Face-3D one
(:mod:`.a2f`) each take a :class:`DaemonState`; neither imports the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from facecast.animators import DEFAULT_ANIMATOR, DEFAULT_LIVE_ANIMATOR, get_animator
from facecast.animators.base import Animator
from facecast.errors import InvalidInput
from facecast.server import metrics
from facecast.server.avatars import AvatarStore
from facecast.server.calls import ModelUnavailable, RequestReader, ShuttingDown, Watchdog
from facecast.server.capacity import GATHERED, LiveCapacity, cost_class, default_initial_streams
from facecast.server.clipwork import ClipWorkers
from facecast.server.config import ServerConfig
from facecast.server.scheduler import Schedulers
from facecast.server.sessions import SessionRegistry

log = logging.getLogger("facecast.server")


class DaemonState:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.sessions = SessionRegistry(config.max_sessions)
        self.clips = ClipWorkers(config.clip_workers, config.max_waiting_clips, config.max_clip_wait_seconds)
        self.schedulers = Schedulers(config.max_batch, config.live_lanes, self.clips.call,
                                     frozenset(config.process_flush_animators))
        self.avatars = AvatarStore(config.max_avatars, config.avatar_dir)
        initial = config.live_capacity_initial or default_initial_streams()
        self.capacity = LiveCapacity(initial, config.live_target_cores, ceiling=config.max_live_streams,
                                     python_cpu=self._python_cpu)
        # live texture frames and whole-clip texture frames render in pools of their own
        self.live_render = ThreadPoolExecutor(max_workers=2, thread_name_prefix="facecast-live-render")
        self.clip_render = ThreadPoolExecutor(max_workers=1, thread_name_prefix="facecast-clip-render")
        self.failed_models: dict[str, str] = {}
        self.on_model_failure: Callable[[], Any] | None = None  # set by the app: turns health NOT_SERVING
        self.draining = False
        self.readers: set[RequestReader] = set()  # live calls' request streams, interrupted when draining
        self._monitor: asyncio.Task | None = None
        self._register_gauges()

    def _python_cpu(self) -> float:
        """CPU seconds of the threads that run the live path's Python: this one (the event loop: the capacity
        samples in it) and the schedulers' lanes."""
        return time.thread_time() + self.schedulers.cpu_seconds

    def _register_gauges(self) -> None:
        m = metrics.DAEMON
        m.gauge("facecast_sessions", "Sessions held, by kind (live streams count from their first byte).",
                lambda: {(("kind", k),): float(n) for k, n in self.sessions.by_kind().items()} or {(): 0.0})
        m.gauge("facecast_live_capacity", "Live stream units the daemon admits now (measured; a gathered stream: 1).",
                lambda: float(self.capacity.limit))
        m.gauge("facecast_live_load", "Live stream units the live streams held now cost.",
                lambda: self.capacity.load(self.sessions.costs("live")))
        m.gauge("facecast_live_stream_units", "Stream units one live stream costs, by cost class.",
                lambda: {(("class", c),): w for c, w in self.capacity.weights.items()})
        m.gauge("facecast_live_cpu_cores", "Cores the daemon process used in the last window.",
                lambda: self.capacity.last_cpu)
        m.gauge("facecast_machine_idle", "Share of the machine's CPU idle in the last window (niced jobs count busy).",
                lambda: self.capacity.machine_idle)
        m.gauge("facecast_live_python_cores", "Cores the event loop and scheduler threads used in the last window.",
                lambda: self.capacity.last_python)
        m.gauge("facecast_scheduler_queue_depth", "Live work items waiting, by animator.",
                lambda: self.schedulers.queued or {(): 0.0})
        m.gauge("facecast_clip_workers_busy", "Animate calls running in worker processes.",
                lambda: float(self.clips.running))
        m.gauge("facecast_clip_queue_depth", "Animate calls waiting for a worker process.",
                lambda: float(self.clips.waiting))
        m.gauge("facecast_models_failed", "Models that failed to load.", lambda: float(len(self.failed_models)))

    def animator(self, name: str | None, live: bool = False) -> Animator:
        """The animator a request names (or the default), with load failures reported."""
        try:
            animator = get_animator(name or self.config.default_animator or None, live)
        except InvalidInput:
            raise
        except Exception as e:  # a broken model: report it, refuse the call, keep serving others
            self.model_failed(name or ("live default" if live else "default"), e)
            raise ModelUnavailable(f"the animator could not be loaded: {e}") from e
        return animator

    def model_failed(self, model: str, error: BaseException | str) -> None:
        self.failed_models[model] = str(error)
        metrics.DAEMON.model_loads.inc(model=model, result="failed")
        log.error("model failed to load", extra={"event": "model_failed", "model": model, "detail": str(error)})
        if self.on_model_failure:
            self.on_model_failure()

    def check_models(self) -> None:
        """Load the default animators and verify the face models against their checksums (run in a thread at
        start-up); every failure goes through :meth:`model_failed`."""
        for name, live in ((self.config.default_animator or DEFAULT_ANIMATOR, False),
                           (self.config.default_animator or DEFAULT_LIVE_ANIMATOR, True)):
            try:
                get_animator(name, live)
                metrics.DAEMON.model_loads.inc(model=name, result="ok")
            except Exception as e:  # reported, the daemon keeps serving what it can
                self.model_failed(name, e)
        from facecast.face.runtime import MODEL_DIR

        for name, problem in face_model_problems(MODEL_DIR).items():
            self.model_failed(f"face/{name}", problem)

    @contextlib.contextmanager
    def session(self, kind: str) -> Iterator[str]:
        """Hold a session of ``kind`` ("live" streams are admitted by the measured capacity); refused while
        draining."""
        if self.draining:
            raise ShuttingDown("the daemon is shutting down; connect to another replica")
        live = kind == "live"  # charged as a gathered stream until its config names the animator
        with self.sessions.open(kind, self.capacity.refusal if live else None, GATHERED if live else "") as session_id:
            yield session_id

    def admit_animator(self, session_id: str, animator: Animator) -> str:
        """A live stream's second admission, once its config names the animator: charge it at the cost of the
        animator's class (see :meth:`LiveCapacity.refusal_for_animator`) and return that class, or raise
        :class:`SessionLimitReached` to refuse it."""
        cost = cost_class(animator.batch_wait_ms > 0, animator.stream_units)
        self.sessions.recharge(session_id, cost, lambda others: self.capacity.refusal_for_animator(others, cost))
        return cost

    @property
    def stall_seconds(self) -> float:
        """How long a call may wait for its client to take a response before it is cancelled (1.5x the idle
        timeout, at least one second more)."""
        idle = self.config.idle_timeout_seconds
        return idle + max(1.0, idle / 2)

    def reader(self, requests: Any) -> RequestReader:
        """A :class:`RequestReader` for a live call (in its handler's task), interrupted when the daemon drains,
        with a :class:`Watchdog` on the call; release it with :meth:`release`."""
        reader = RequestReader(aiter(requests), Watchdog(self.stall_seconds))
        if self.draining:
            reader.interrupt()
        self.readers.add(reader)
        return reader

    def release(self, reader: RequestReader) -> None:
        self.readers.discard(reader)
        if reader.watchdog:
            reader.watchdog.close()

    def drain(self) -> None:
        """Stop taking audio: every live call ends its stream now with a final status."""
        self.draining = True
        for reader in list(self.readers):
            reader.interrupt()

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._monitor = loop.create_task(self._measure())

    async def _measure(self) -> None:
        while True:
            await asyncio.sleep(self.capacity.window)
            self.capacity.sample(self.sessions.costs("live"))

    async def close(self) -> None:
        if self._monitor:
            self._monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._monitor
        await self.schedulers.close()
        self.live_render.shutdown(wait=False, cancel_futures=True)
        self.clip_render.shutdown(wait=False, cancel_futures=True)


def face_model_problems(folder: Path) -> dict[str, str]:
    """Face model files that are missing or differ from ``SHA256SUMS``, with what is wrong."""
    sums = folder / "SHA256SUMS"
    if not sums.is_file():
        return {"SHA256SUMS": f"{sums} is missing"}
    problems = {}
    for line in sums.read_text().splitlines():
        if not line.strip():
            continue
        digest, name = line.split(maxsplit=1)
        path = folder / name.strip()
        if not path.is_file():
            problems[name] = f"{path} is missing"
        elif hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            problems[name] = f"{path} is corrupted (its SHA-256 differs from SHA256SUMS)"
    return problems
