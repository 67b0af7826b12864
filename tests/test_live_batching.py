"""Live streams cost less per stream when they share work (issue 15, "32 neural streams in one daemon"): the
scheduler gathers the chunks of concurrent neural streams into one batch, the neural animator composes a batch's
frames in one pass, frame messages are built from lists, audio is kept for an echo only when there is one, and
the live admission target is a share of the machine with a separate bound on the threads that run Python."""

from __future__ import annotations

import asyncio
import os
import time

import numpy as np
import pytest
from terminal import run_in_terminal

from facecast import wire
from facecast.animators import get_animator
from facecast.animators.neural import NeuralAnimator
from facecast.audio import MODEL_RATE, load_audio
from facecast.controls import Controls
from facecast.motion import MotionFrame
from facecast.proto import facecast_pb2 as pb
from facecast.server import capacity as live_capacity
from facecast.server.capacity import LiveCapacity
from facecast.server.config import ServerConfig
from facecast.server.live import LiveSession
from facecast.server.scheduler import ModelScheduler

from conftest import ASSETS

CHUNK = MODEL_RATE // 50  # 20 ms


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return load_audio(ASSETS / "speech_en.wav").samples[:2 * MODEL_RATE]


class Counter:
    """CPU seconds so far of the daemon's Python threads, as the test says they went."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


def _window(capacity: LiveCapacity, python: Counter | None, active_live: int, streams: float,
            python_cores: float = 0.0, lateness: float = 0.005) -> None:
    """One closed one-second window: ``streams`` streams' worth of frames, ``lateness`` s late; this process
    burned 0.2 s of CPU, its Python threads ``python_cores``."""
    capacity.observe(lateness, int(streams * 30))
    end = time.process_time() + 0.2
    while time.process_time() < end:
        pass
    if python is not None:
        python.seconds += python_cores
    capacity._wall = time.monotonic() - 1.0
    capacity.sample(active_live)


def near(limit: int, estimate: float) -> bool:
    """``limit`` is ``estimate`` cut to whole streams (the window's clock makes it a hair over or under)."""
    return round(estimate) - 1 <= limit <= round(estimate)


def test_live_target_defaults_to_a_share_of_the_cores_the_daemon_may_run_on() -> None:
    cores = len(os.sched_getaffinity(0))
    assert live_capacity.default_target_cores() == pytest.approx(live_capacity.CORE_SHARE * cores)
    assert LiveCapacity().target_cores == pytest.approx(live_capacity.CORE_SHARE * cores)
    assert LiveCapacity(target_cores=0.8).target_cores == 0.8
    assert ServerConfig().live_target_cores is None  # the default follows the machine


def test_python_threads_bound_the_capacity_apart_from_the_process_cpu() -> None:
    python = Counter()
    capacity = LiveCapacity(initial=4, target_cores=8.0, window=1.0, min_idle=0.0, python_cpu=python)
    _window(capacity, python, 10, 10, python_cores=0.1)  # the first window only reads the Python threads' clock
    # 10 streams on time; the process has CPU to spare (0.2 of 8 cores) but its Python threads used 0.5 of a core:
    # they could serve 10 * 0.8 / 0.5 = 16, not the 400 the process CPU alone allows
    _window(capacity, python, 10, 10, python_cores=0.5)
    assert near(capacity.limit, 10 * live_capacity.PYTHON_CORES / 0.5)
    assert capacity.last_python == pytest.approx(0.5, abs=0.05)
    message = capacity.refusal(capacity.limit)
    assert message and "measured capacity" in message and "in Python threads" in message
    _window(capacity, python, 10, 10, python_cores=1.0)  # busier Python threads: the limit comes down
    assert near(capacity.limit, 10 * live_capacity.PYTHON_CORES / 1.0)
    before = capacity.limit  # 7 or 8: the window's clock makes the estimate a hair over or under 8
    _window(capacity, python, 8, 8, python_cores=0.2, lateness=0.5)  # late frames: no new streams at all
    assert capacity.overloaded and capacity.limit == min(before, 8) and "ran late" in (capacity.refusal(8) or "")


def test_a_window_that_used_little_of_the_targets_keeps_the_initial_limit() -> None:
    # 3 streams using 0.3 of a core of Python: extrapolated, 8 streams, though a stream shares model calls and
    # gRPC wake-ups with more streams; on a machine with CPU to spare the initial limit stands
    python = Counter()
    quiet = LiveCapacity(initial=16, target_cores=8.0, window=1.0, min_idle=0.0, python_cpu=python)
    _window(quiet, python, 3, 3, python_cores=0.1)
    _window(quiet, python, 3, 3, python_cores=0.3)
    assert 0.3 / live_capacity.PYTHON_CORES < live_capacity.LOW_UTILISATION
    assert 3 * live_capacity.PYTHON_CORES / 0.3 < 16
    assert quiet.measured and quiet.limit == 16
    # the same on a machine without idle CPU: the measurement is all there is
    saturated = LiveCapacity(initial=16, target_cores=8.0, window=1.0, min_idle=1.01, python_cpu=python)
    _window(saturated, python, 3, 3, python_cores=0.1)
    _window(saturated, python, 3, 3, python_cores=0.3)
    assert near(saturated.limit, 3 * live_capacity.PYTHON_CORES / 0.3)
    # the same 3 streams using 0.7 of a core: that measurement is trusted
    busy = LiveCapacity(initial=16, target_cores=8.0, window=1.0, min_idle=0.0, python_cpu=python)
    _window(busy, python, 3, 3, python_cores=0.1)
    _window(busy, python, 3, 3, python_cores=0.7)
    assert near(busy.limit, 3 * live_capacity.PYTHON_CORES / 0.7)


def test_streams_of_an_animator_that_does_not_gather_get_only_their_share_until_measured() -> None:
    python = Counter()
    capacity = LiveCapacity(initial=32, target_cores=8.0, window=1.0, min_idle=0.0, python_cpu=python)
    share = capacity.ungathered
    assert share == min(32, live_capacity.default_ungathered_streams()) and share < 32
    # before any measurement: a gathering animator's streams up to the initial limit, the others up to their share
    assert capacity.refusal_for_animator(32, gathers=True) is None
    assert capacity.refusal_for_animator(share, gathers=False) is None
    message = capacity.refusal_for_animator(share + 1, gathers=False)
    assert message and "runs each stream apart" in message and f"({share} until" in message
    # a light window keeps the general limit at its initial value (the floor), but not the others' share
    _window(capacity, python, 3, 3, python_cores=0.1)
    _window(capacity, python, 3, 3, python_cores=0.3)
    assert capacity.limit == 32 and capacity.refusal_for_animator(share + 1, gathers=False)
    # a window whose measurement says more streams fit raises the share, never past the general limit
    _window(capacity, python, 20, 20, python_cores=0.4)
    assert capacity.estimate is not None and capacity.estimate > share
    allowed = min(capacity.limit, int(capacity.estimate))
    assert capacity.refusal_for_animator(allowed, gathers=False) is None
    assert capacity.refusal_for_animator(capacity.limit + 1, gathers=False)


def test_machine_cpu_counts_niced_processes_as_busy_and_iowait_as_idle() -> None:
    # user nice system idle iowait irq softirq steal: a trainer at nice 10 takes 600 ticks, idle 100
    busy, total, niced = live_capacity.busy_and_total("cpu  200 600 50 100 50 0 0 0 0 0")
    assert total == 1000 and busy == 850 and niced == 600


def _alone(animator: NeuralAnimator, speech: np.ndarray, seed: int, offset: int) -> list[MotionFrame]:
    session = animator.stream(Controls(seed=seed))
    frames: list[MotionFrame] = []
    for start in range(offset, len(speech), CHUNK):
        frames += session.push(speech[start:start + CHUNK])
    return frames


def test_scheduler_gathers_the_chunks_of_concurrent_neural_streams_into_one_batch(speech: np.ndarray) -> None:
    animator = get_animator("neural")
    assert isinstance(animator, NeuralAnimator) and animator.batch_wait_ms > 0
    streams = 6

    async def serve() -> tuple[list[list[MotionFrame]], int, int]:
        scheduler = ModelScheduler(animator, lanes=4)  # a gathering animator gets one lane whatever this says
        assert len(scheduler._lanes) == 1
        sessions = [animator.stream(Controls(seed=k)) for k in range(streams)]
        frames: list[list[MotionFrame]] = [[] for _ in sessions]

        async def one(k: int) -> None:
            for start in range(k * 32, len(speech), CHUNK):  # streams not in step: each starts 2 ms later
                await asyncio.sleep(0.002 * k)
                frames[k] += await scheduler.run(sessions[k], speech[start:start + CHUNK])

        try:
            await asyncio.wait_for(asyncio.gather(*(one(k) for k in range(streams))), 120)
        finally:
            await scheduler.close()
        return frames, scheduler.batches, scheduler.items

    frames, batches, items = asyncio.run(serve())
    assert items >= streams * (len(speech) // CHUNK - 1)
    assert batches < items / 2  # most chunks ran in a batch with others (one lane runs them one at a time)
    for k in range(streams):  # and each stream got what it gets alone
        alone = _alone(animator, speech, k, k * 32)
        assert [f.index for f in frames[k]] == [f.index for f in alone]
        np.testing.assert_allclose(np.stack([f.values for f in frames[k]]), np.stack([f.values for f in alone]),
                                   atol=2e-5)


def test_a_gathering_lane_stops_waiting_once_every_stream_has_brought_its_chunk(speech: np.ndarray) -> None:
    animator = NeuralAnimator()
    animator.batch_wait_ms = 600_000.0  # ten minutes: only "every session is there" can end the wait

    async def serve() -> int:
        scheduler = ModelScheduler(animator)
        sessions = [animator.stream(Controls(seed=k)) for k in range(3)]
        try:
            for step in range(5):
                chunk = speech[step * CHUNK:(step + 1) * CHUNK]
                if step == 1:  # the lane knows its three sessions now
                    first = scheduler.batches

                async def late(k: int, step: int = step, chunk: np.ndarray = chunk) -> list[MotionFrame]:
                    await asyncio.sleep(0.01 * k * (step > 0))  # the second 10 ms after the first, the third 20
                    return await scheduler.run(sessions[k], chunk)

                await asyncio.wait_for(asyncio.gather(*(late(k) for k in range(3))), 60)
        finally:
            await scheduler.close()
        return scheduler.batches - first

    assert asyncio.run(serve()) == 4  # one batch of the three streams per step


def test_frame_messages_built_from_lists_are_the_messages_built_from_arrays() -> None:
    rng = np.random.default_rng(3)
    values = rng.uniform(-1, 1, (4, 61)).astype(np.float32)
    values[0, :4] = [0.0, -0.0, 1e-40, np.float32(1 / 3)]  # signed zero, a subnormal, a rounded third
    frames = [MotionFrame(i, i / 30, values[i], rng.normal(0, 0.01, 3).astype(np.float32)) for i in range(4)]
    from_arrays = pb.MotionResponse(frames=pb.FrameBatch(frames=[
        pb.Frame(index=f.index, time_code=f.time, values=f.values, head_translation=f.head_translation)
        for f in frames]))
    assert wire.frame_batch(frames).SerializeToString() == from_arrays.SerializeToString()
    back = wire.frames_from_batch(wire.frame_batch(frames).frames)
    np.testing.assert_array_equal(np.stack([f.values for f in back]), values)


def test_a_stream_without_echo_keeps_none_of_its_audio(speech: np.ndarray) -> None:
    energy = get_animator("energy")

    def fed(echo: bool) -> LiveSession:
        live = LiveSession(energy.stream(), ModelScheduler(energy), MODEL_RATE, 10.0, 60.0, echo=echo)
        for start in range(0, MODEL_RATE, CHUNK):
            live.accept(speech[start:start + CHUNK])
        return live

    assert len(fed(echo=False).echo) == 0
    assert len(fed(echo=True).echo) == MODEL_RATE  # kept until it is echoed


@pytest.mark.parametrize(("flag", "value", "says"), [("--live-target-cores", "0", "more than 0"),
                                                     ("--live-initial-streams", "0", "at least 1")])
def test_serve_refuses_a_live_admission_setting_that_admits_nothing(flag: str, value: str, says: str) -> None:
    run = run_in_terminal("serve", "--port", "0", flag, value, timeout=60)
    assert run.status != 0 and "Traceback" not in run.output
    assert any(flag in line and says in line for line in run.error_lines()), run.output
