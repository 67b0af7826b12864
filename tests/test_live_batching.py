"""Live streams cost less per stream when they share work (issue 15, "32 neural streams in one daemon"): the
scheduler gathers the chunks of concurrent neural streams into one batch, the neural animator composes a batch's
frames in one pass, frame messages are built from lists, audio is kept for an echo only when there is one, and
the live admission target is a share of the machine with a separate bound on the threads that run Python."""

from __future__ import annotations

import asyncio
import contextlib
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
from facecast.server.capacity import APART, GATHERED, LiveCapacity
from facecast.server.config import ServerConfig
from facecast.server.live import LiveSession
from facecast.server.scheduler import ModelScheduler
from facecast.server.sessions import SessionLimitReached
from facecast.server.state import DaemonState

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
            python_cores: float = 0.0, lateness: float = 0.005, cost: str = GATHERED) -> None:
    """One closed one-second window: ``active_live`` streams of class ``cost`` held, ``streams`` streams' worth
    of their frames, ``lateness`` s late; this process burned 0.2 s of CPU, its Python threads ``python_cores``."""
    capacity.observe(lateness, int(streams * 30), cost)
    end = time.process_time() + 0.2
    while time.process_time() < end:
        pass
    if python is not None:
        python.seconds += python_cores
    capacity._wall = time.monotonic() - 1.0
    capacity.sample({cost: active_live})


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
    message = capacity.refusal({GATHERED: int(capacity.limit)})
    assert message and "measured capacity" in message and "in Python threads" in message
    _window(capacity, python, 10, 10, python_cores=1.0)  # busier Python threads: the limit comes down
    assert near(capacity.limit, 10 * live_capacity.PYTHON_CORES / 1.0)
    before = capacity.limit  # 7 or 8: the window's clock makes the estimate a hair over or under 8
    _window(capacity, python, 8, 8, python_cores=0.2, lateness=0.5)  # one late window: the limit holds
    assert capacity.late and not capacity.overloaded and capacity.limit == before
    _window(capacity, python, 8, 8, python_cores=0.2, lateness=0.5)  # two in a row: no new streams at all
    assert capacity.overloaded and capacity.limit == min(before, 8)
    assert "ran late" in (capacity.refusal({GATHERED: 8}) or "")


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


def test_a_stream_that_runs_apart_is_admitted_next_to_gathered_streams_while_units_allow() -> None:
    capacity = LiveCapacity(initial=32, target_cores=8.0, window=1.0, min_idle=0.0)
    held = {GATHERED: 20}  # 20 units of 32: an energy stream (2 units) still fits, wherever the others come from
    assert capacity.refusal(held) is None  # opened as a gathered stream
    assert capacity.refusal_for_animator(held, APART) is None
    assert capacity.refusal_for_animator({GATHERED: 20, APART: 5}, APART) is None  # 30 + 2 units
    message = capacity.refusal_for_animator({GATHERED: 21, APART: 5}, APART)  # 31 + 2 units
    assert message and "runs each stream apart" in message and "costs 2.0 stream units" in message
    assert "31 of its measured capacity of 32 units" in message
    assert capacity.refusal_for_animator({GATHERED: 31}, GATHERED) is None  # charged as such already


def test_streams_that_run_apart_alone_are_admitted_up_to_the_limit_over_their_prior_cost() -> None:
    capacity = LiveCapacity(initial=live_capacity.default_initial_streams(), target_cores=8.0, min_idle=0.0)
    share = live_capacity.default_ungathered_streams()  # what the measured figures say fit per core
    assert capacity.weights[APART] == live_capacity.APART_PRIOR == 2.0
    assert capacity.refusal_for_animator({APART: share - 1}, APART) is None
    message = capacity.refusal_for_animator({APART: share}, APART)
    assert message and "costs 2.0 stream units (before a measurement of both kinds)" in message
    assert capacity.refusal({APART: share}) is not None  # full: refused when opened already
    # --max-live-streams counts streams, whatever they cost
    few = LiveCapacity(initial=32, ceiling=2)
    assert few.refusal({APART: 1}) is None and few.refusal_for_animator({APART: 1}, APART) is None
    assert "serves 2 live streams, its ceiling" in (few.refusal({APART: 2}) or "")


def test_windows_that_served_one_class_each_measure_the_cost_of_a_stream_that_runs_apart() -> None:
    python = Counter()
    capacity = LiveCapacity(initial=32, target_cores=8.0, window=1.0, min_idle=0.0, python_cpu=python)
    _window(capacity, python, 12, 12, python_cores=0.1)  # only reads the Python threads' clock
    # 12 gathered streams use 0.48 Python cores: 0.6 of that budget, 0.05 each; 5 apart ones use 0.6: 0.15 each
    _window(capacity, python, 12, 12, python_cores=0.48)
    assert capacity.weights[APART] == live_capacity.APART_PRIOR  # one class measured: the prior stands
    _window(capacity, python, 5, 5, python_cores=0.6, cost=APART)
    assert capacity.weights[APART] == pytest.approx(3.0, rel=0.05)
    # the limit: 15 units served on 0.6 of 0.8 Python cores, 20 units; 6 apart streams (18 units) do not fit
    assert near(capacity.limit, 20)
    assert capacity.refusal_for_animator({APART: 5}, APART) is None
    assert "costs 3.0 stream units (measured)" in (capacity.refusal_for_animator({APART: 6}, APART) or "")
    # a window with both classes says nothing of either's cost; one light window neither
    capacity.observe(0.005, 5 * 30, APART)
    _window(capacity, python, 10, 10, python_cores=0.7)
    _window(capacity, python, 3, 3, python_cores=0.1, cost=APART)
    assert capacity.weights[APART] == pytest.approx(3.0, rel=0.05)
    # a window in which one apart stream took all of the Python budget: smoothed, then clamped
    _window(capacity, python, 1, 1, python_cores=0.8, cost=APART)
    assert capacity.weights[APART] == live_capacity.WEIGHT_RANGE[1]


def test_a_refused_or_closed_live_stream_frees_its_stream_units() -> None:
    state = DaemonState(ServerConfig(live_capacity_initial=8))
    energy = get_animator("energy", live=True)
    assert energy.batch_wait_ms == 0

    def load() -> float:
        return state.capacity.load(state.sessions.costs("live"))

    try:
        with contextlib.ExitStack() as held:
            ids = [held.enter_context(state.session("live")) for _ in range(4)]
            assert load() == 4  # opened: a unit each until their configs name the animator
            for session_id in ids[:3]:
                assert state.admit_animator(session_id, energy) == APART
            assert load() == 7
            # its unit fits (8 of 8), its two do not
            with pytest.raises(SessionLimitReached, match="runs each stream apart"), state.session("live") as refused:
                state.admit_animator(refused, energy)
            assert load() == 7  # the refused stream's unit went with it
            with state.session("live"):  # that unit: a stream opens
                assert load() == 8
                full = r"serves 5 live streams \(8 of its 8 stream units\)"
                with pytest.raises(SessionLimitReached, match=full), state.session("live"):
                    pass
            assert load() == 7
        assert load() == 0 and not state.sessions.costs("live")  # closed: every charge released
        with state.session("live") as session_id:  # all of it free again
            state.admit_animator(session_id, energy)
            assert load() == 2
    finally:
        asyncio.run(state.close())


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


@pytest.mark.parametrize("name", ["neural", "neural-fast"])
def test_scheduler_gathers_the_chunks_of_concurrent_neural_streams_into_one_batch(speech: np.ndarray,
                                                                                    name: str) -> None:
    animator = get_animator(name)
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


def test_one_late_window_holds_the_limit_and_two_in_a_row_stop_admissions_past_the_peak() -> None:
    capacity = LiveCapacity(initial=32, target_cores=8.0, window=1.0, min_idle=0.0)
    for held in range(7):  # seven streams open at once (the eighth a little later)
        assert capacity.refusal({GATHERED: held}) is None
    # the first window is late (the model's first calls, a collection, another job's burst): the eighth stream is
    # still admitted, and the limit has not grown on a window that says nothing about the CPU
    _window(capacity, None, 7, 7, lateness=0.05)
    assert capacity.late and not capacity.overloaded and capacity.limit == 32
    assert capacity.refusal({GATHERED: 7}) is None
    # late again, with eight held: no streams past eight, whatever the CPU says
    _window(capacity, None, 8, 8, lateness=0.05)
    assert capacity.overloaded and capacity.limit == 8
    assert "2 windows in a row" in (capacity.refusal({GATHERED: 8}) or "")
    # one stream ended in the window and the NPC's next utterance replaces it: held at the peak, not refused
    _window(capacity, None, 7, 7.5, lateness=0.05)
    assert capacity.overloaded and capacity.limit == 8
    assert capacity.refusal({GATHERED: 7}) is None
    # on time again: the limit grows from the streams held
    _window(capacity, None, 8, 8)
    assert not capacity.late and not capacity.overloaded and capacity.limit > 8


def test_streams_that_cost_more_per_stream_are_charged_their_units_and_refused_past_the_limit():
    """A gathering animator that declares ``stream_units`` (neural streams with Whisper's streaming jaw; here 2.5) has a
    class of its own: 32 units of capacity admit 12 such streams, not 32."""
    from facecast.server.capacity import cost_class

    heavy = cost_class(True, 2.5)
    assert heavy != GATHERED and cost_class(True) == GATHERED and cost_class(False) == APART
    capacity = LiveCapacity(initial=32, target_cores=1.5)
    held = {heavy: 12}
    assert capacity.load(held) == 30
    assert capacity.refusal_for_animator(held, heavy) is not None  # a 13th: 32.5 units
    message = capacity.refusal_for_animator({heavy: 11}, heavy)
    assert message is None
    refused = capacity.refusal_for_animator(held, heavy) or ""
    assert "2.5 stream units" in refused and "costs more per stream" in refused


def test_the_neural_animator_declares_what_its_streams_cost():
    from facecast.animators import get_animator
    from facecast.animators.neural import STREAM_UNITS

    assert get_animator("neural").stream_units == STREAM_UNITS > 1
    assert get_animator("neural-fast").stream_units == 1.0
