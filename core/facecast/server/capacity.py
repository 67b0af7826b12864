"""How many live streams this process can serve on time, measured while it serves them.

Streams are counted in *stream units*: what one stream of an animator that gathers its streams' chunks into one
model call (``Animator.batch_wait_ms`` > 0, cost class :data:`GATHERED`) costs. A stream of an animator that runs
each stream apart (:data:`APART`: each chunk costs its own Python time under the one interpreter lock) costs
:attr:`LiveCapacity.weights` units: :data:`APART_PRIOR` (2) before a measurement says otherwise, from the
figures measured on the 2-core box (:data:`INITIAL_PER_CORE` gathered streams per core fit where
:data:`UNGATHERED_PER_CORE` apart ones do). The *load* is the sum of the admitted live streams' costs; a new
stream is admitted while load + its cost <= the limit, which is in units too. A stream is opened before its
config names its animator: it is charged as a gathered stream (:meth:`LiveCapacity.refusal`), and re-checked
at its real cost once the animator is known (:meth:`LiveCapacity.refusal_for_animator`). A gathering animator
whose streams cost more than a plain gathered one (``Animator.stream_units`` > 1: ``neural`` streams, which also
run Whisper's streaming jaw) has a class of its own, ``gathered*UNITS``, weighed at those units until a
measurement gives its ratio to the plain class. ``ceiling``
(``--max-live-streams``) caps the streams held, whatever they cost.

Every ``window`` seconds :meth:`LiveCapacity.sample` reads the process's CPU time (the event loop and the
scheduler threads; whole clips run in worker processes and do not count), the live frames sent in that window
by cost class and their lateness. The frames sent say how many stream units were served on average (30 fps
streams times their weights); the estimate is the units that would use ``target_cores`` at the measured CPU
per unit (by default :data:`CORE_SHARE` of the cores the process may run on), and no more than would keep the
threads that run Python (the event loop and the scheduler lanes, read by ``python_cpu``) under
``python_cores``: they share one interpreter lock, so however many cores the machine has, their Python code
runs on one at a time; only what they do outside it (ONNX Runtime, gRPC's own threads) uses the others. While
frames are on time the limit grows towards it: 1.5x per window while the machine has idle CPU (``min_idle`` of
its cores, read from ``/proc/stat``: other replicas, clients and other jobs on the machine count, niced ones
too), else by two units. A window that used under :data:`LOW_UTILISATION` of the targets, on a machine with CPU
to spare (idle or niced), does not take the limit below its initial value (its extrapolation is long and
pessimistic). A window whose p99 lateness exceeded one frame holds the limit where it is (no growth, no
measurement); :data:`LATE_WINDOWS` such windows in a row stop admissions past the most stream units held at once
in the last of them, until the streams are on time again. One late window is not enough: a warm-up, a garbage
collection or another job's burst makes one, and refusing on it refused the eighth subject of the Unreal soak test
on the loaded CI box (sixth stop). The cap is the window's peak, not the load at its end, so a stream that
replaces one just finished (the next utterance of an NPC) is still admitted. An idle window returns the limit to
its initial value.

The weights are measured too: an on-time window in which only one class was served, using at least
:data:`LOW_UTILISATION` of the targets (a light window's cost per stream is too high, and by how much depends
on the class), gives that class's cost per stream: the larger of its share of ``target_cores`` and its share
of ``python_cores`` (the budget that binds), per stream. Each class's cost is smoothed over such windows (the
mean of the last value and the new one); once both are measured, the apart weight is their ratio, clamped to
:data:`WEIGHT_RANGE`. A window with both classes counts its frames at the current weights. New live streams
past the limit are refused with RESOURCE_EXHAUSTED and a message saying why, so admitted streams stay on time
instead of all becoming late together.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping

import numpy as np

FRAME_SECONDS = 1 / 30  # the lateness budget: one frame at 30 fps
CORE_SHARE = 0.75  # of the cores the daemon may run on: what live streams may use by default (the rest: headroom)
PYTHON_CORES = 0.8  # what the threads running Python may use together (one interpreter lock: under one core)
LOW_UTILISATION = 0.5  # a window that used less than this share of the targets says little about the limit
INITIAL_PER_CORE = 16  # stream units admitted per usable core before any measurement (measured on 2 cores: 32
# neural streams use 0.7-0.8 of the daemon's cores, docs/BENCHMARKS.md)
UNGATHERED_PER_CORE = 8  # the same in streams of an animator that does not gather its streams' chunks into one
# call (``Animator.batch_wait_ms`` 0: each chunk costs its own Python time under the one interpreter lock; 32
# `energy` streams ran 1-10 frames late on the quiet 2-core box, 22-23 were on time, docs/BENCHMARKS.md)

GATHERED = "gathered"  # cost class: an animator that gathers its streams' chunks into one call (1 unit a stream)
APART = "apart"  # cost class: an animator that runs each stream apart
APART_PRIOR = INITIAL_PER_CORE / UNGATHERED_PER_CORE  # units an apart stream costs before a measurement (2)
LATE_WINDOWS = 2  # late windows in a row that stop admissions (one is noise: a warm-up, a collection, a burst)
WEIGHT_RANGE = (0.5, 8.0)  # a measured apart weight is kept within this (one odd window cannot run away with it)

Streams = Mapping[str, int]  # live streams held, by cost class


def cost_class(gathers: bool, units: float = 1.0) -> str:
    """The cost class of an animator's streams (``gathers``: its ``batch_wait_ms`` > 0; ``units``: its
    ``stream_units``, what one of its streams costs against a plain gathered stream before a measurement says;
    a gathered animator whose streams cost more has a class of its own, ``gathered*UNITS``)."""
    if not gathers:
        return APART
    return GATHERED if units == 1.0 else f"{GATHERED}*{units:g}"


def prior_weight(cost: str) -> float:
    """The stream units a stream of class ``cost`` costs before a measurement (:func:`cost_class`)."""
    if cost == APART:
        return APART_PRIOR
    return float(cost.split("*", 1)[1]) if cost.startswith(GATHERED + "*") else 1.0


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. ``taskset`` or a container's cpuset)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def default_target_cores() -> float:
    """The live path's default CPU target: :data:`CORE_SHARE` of :func:`usable_cores`."""
    return CORE_SHARE * usable_cores()


def default_ungathered_streams() -> int:
    """Streams of an animator that does not gather admitted (alone) before a measurement says more:
    :data:`UNGATHERED_PER_CORE` per usable core, the default initial units at :data:`APART_PRIOR` each."""
    return UNGATHERED_PER_CORE * usable_cores()


def default_initial_streams() -> int:
    """Stream units admitted before the first measurement: :data:`INITIAL_PER_CORE` per usable core."""
    return INITIAL_PER_CORE * usable_cores()


class LiveCapacity:
    def __init__(self, initial: int = 16, target_cores: float | None = None, window: float = 2.0,
                 ceiling: int = 1024, budget_seconds: float = FRAME_SECONDS, min_idle: float = 0.15,
                 python_cpu: Callable[[], float] | None = None, python_cores: float = PYTHON_CORES) -> None:
        """``initial``: in stream units. ``ceiling``: the most live streams held at once, whatever they cost.
        ``target_cores``: None for :func:`default_target_cores`. ``python_cpu``: the CPU seconds so far of the
        threads that run Python (called in the thread that calls :meth:`sample`); None: not bounded apart."""
        self.limit: float = initial
        self.initial = initial
        self.estimate: float | None = None  # units the last measured window's CPU says fit (None: not measured)
        self.weights = {GATHERED: 1.0, APART: APART_PRIOR}  # stream units a stream of each class costs
        self.costs: dict[str, float] = {}  # measured share of the budgets one stream of a class uses
        self.min_idle = min_idle
        self._machine = machine_cpu()
        self.machine_idle = 1.0
        self.machine_spare = 1.0  # idle, or taken by niced jobs (they yield to the daemon)
        self.target_cores = default_target_cores() if target_cores is None else target_cores
        self.window, self.ceiling, self.budget = window, ceiling, budget_seconds
        self.python_cpu, self.python_cores = python_cpu, python_cores
        self._python: float | None = None  # python_cpu() at the last sample (read first in the sampling thread)
        self.last_python = 0.0
        self._cpu, self._wall = time.process_time(), time.monotonic()
        self._lateness: list[float] = []
        self._frames: Counter[str] = Counter()  # frames sent in this window, by cost class
        self.measured = False
        self._lock = threading.Lock()
        self.last_p99 = 0.0
        self.last_cpu = 0.0
        self.late = False  # the last window's p99 lateness exceeded the budget
        self.late_windows = 0  # late windows in a row, up to now
        self.overloaded = False  # LATE_WINDOWS of them: no new streams past the peak load
        self._peak = 0.0  # the most stream units held at once in this window (at its start, or after an admission)

    def weight(self, cost: str) -> float:
        """The stream units a stream of class ``cost`` costs now (its prior until measured)."""
        if cost not in self.weights:
            self.weights[cost] = prior_weight(cost)
        return self.weights[cost]

    def load(self, streams: Mapping[str, float]) -> float:
        """The stream units ``streams`` (held, or served on average) cost at the current weights."""
        return sum(self.weight(cost) * n for cost, n in streams.items())

    def observe(self, lateness_seconds: float, frames: int, cost: str) -> None:
        """``frames`` of a stream of class ``cost`` went out ``lateness_seconds`` after their audio arrived."""
        with self._lock:
            self._lateness.append(lateness_seconds)
            self._frames[cost] += frames

    def sample(self, streams: Streams) -> None:
        """Close a measurement window (``streams``: the live streams held now): update the cost per class,
        lateness and the limit."""
        cpu, wall = time.process_time(), time.monotonic()
        elapsed = max(wall - self._wall, 1e-6)
        used = (cpu - self._cpu) / elapsed  # cores busy in this process
        self._cpu, self._wall = cpu, wall
        python = self.python_cpu() if self.python_cpu else None
        python_used = None if python is None or self._python is None else (python - self._python) / elapsed
        self._python = python
        self.last_python = python_used or 0.0
        with self._lock:
            late, self._lateness = self._lateness, []
            frames, self._frames = self._frames, Counter()
        served = {cost: n / (elapsed / FRAME_SECONDS) for cost, n in frames.items() if n}  # 30 fps streams
        machine = machine_cpu()
        if machine and self._machine:
            busy, total, niced = (now - then for now, then in zip(machine, self._machine))
            self.machine_idle = 1.0 - busy / total if total > 0 else 1.0
            self.machine_spare = 1.0 - (busy - niced) / total if total > 0 else 1.0
        self._machine = machine
        self.last_cpu = used
        self.last_p99 = float(np.percentile(late, 99)) if late else 0.0
        self.late = self.last_p99 > self.budget
        self.late_windows = self.late_windows + 1 if self.late else 0
        self.overloaded = self.late_windows >= LATE_WINDOWS
        # the share of the binding budget the window used: process CPU of the target, or Python CPU of its own
        share = max(used / self.target_cores, (python_used or 0.0) / self.python_cores)
        if not self.late and len(served) == 1 and share >= LOW_UTILISATION:
            (cost, streams_served), = served.items()
            self._measured_cost(cost, share / streams_served)
        units = self.load(served)  # stream units served on average in the window, at the current weights
        load = self.load(streams)
        peak, self._peak = max(self._peak, load), load
        if self.overloaded:  # no new streams past those held while late, until they are on time again
            self.limit = max(1.0, min(self.limit, peak))
        elif self.late:  # one late window: hold the limit (it says little alone, and nothing about the CPU)
            pass
        elif units < 2:  # (nearly) idle: nothing to measure, back to the prior
            self.limit = max(self.limit, min(self.initial, self._cap()))
            self.estimate = None
        elif used > 0.02:
            self.measured = True
            estimate = units * self.target_cores / used
            if python_used is not None and python_used > 0.02:
                estimate = min(estimate, units * self.python_cores / python_used)
            self.estimate = estimate
            # on time: grow 1.5x per window while the machine has CPU to spare, else by two units (the CPU per
            # stream changes with how many share a batch, and other processes take the machine's CPU)
            base = max(self.limit, load)
            grown = 1.5 * base if self.machine_idle >= self.min_idle else base + 2
            # A window that used little of the targets extrapolates far, and too low: the CPU per stream falls as
            # streams share model calls and gRPC wake-ups (neural, 4 -> 32 streams: 0.058 -> 0.018 Python cores
            # each). On a machine with CPU to spare (idle, or taken by niced jobs: they yield), such an estimate
            # does not take the limit below the initial one.
            little = share < LOW_UTILISATION
            floor = self.initial if little and self.machine_spare >= self.min_idle else 1
            self.limit = int(min(self._cap(), max(floor, min(estimate, grown))))

    def _cap(self) -> float:
        """The most units the limit may reach: ``ceiling`` streams of the costliest class."""
        return self.ceiling * max(self.weights.values())

    def _measured_cost(self, cost: str, per_stream: float) -> None:
        """A window served only class ``cost``, each stream using ``per_stream`` of the binding budget: smooth
        it into that class's cost and, once the plain gathered class is measured too, set the other classes'
        weights to their ratio to it."""
        before = self.costs.get(cost)
        self.costs[cost] = per_stream if before is None else (before + per_stream) / 2
        if GATHERED in self.costs:
            low, high = WEIGHT_RANGE
            for other, measured in self.costs.items():
                if other != GATHERED:
                    self.weights[other] = min(high, max(low, measured / self.costs[GATHERED]))

    def refusal(self, streams: Streams) -> str | None:
        """Why a new live stream, charged as a gathered one until its animator is known, is refused now
        (``streams``: those held without it), or None to admit it."""
        load, held = self.load(streams), sum(streams.values())
        if held >= self.ceiling:
            return f"the daemon serves {held} live streams, its ceiling; try again later or another replica"
        if load + self.weights[GATHERED] <= self.limit:
            self._peak = max(self._peak, load + self.weights[GATHERED])  # admitted (the caller opens it now)
            return None
        why = (f"live frames ran late ({self.late_windows} windows in a row, p99 {self.last_p99 * 1000:.0f} ms)"
               if self.overloaded
               else f"{self.last_cpu:.2f} cores busy ({self.last_python:.2f} in Python threads) of a target of "
                    f"{self.target_cores:.2f}, machine {self.machine_idle:.0%} idle" if self.measured
            else "not measured yet")
        return (f"the daemon serves {held} live streams ({load:.0f} of its {self.limit:.0f} "
                f"stream units), its measured capacity ({why}); try again later or another replica")

    def refusal_for_animator(self, others: Streams, cost: str) -> str | None:
        """Once a stream's config names its animator: why the stream, charged as gathered so far, is refused at
        the cost of its class ``cost`` (``others``: the live streams held without it), or None."""
        weight = self.weight(cost)
        load = self.load(others)
        if weight <= self.weights[GATHERED] or load + weight <= self.limit:
            self._peak = max(self._peak, load + weight)
            return None
        how = "measured" if cost in self.costs and GATHERED in self.costs else "before a measurement of both kinds"
        kind = "runs each stream apart" if cost == APART else "costs more per stream than a plain gathered one"
        return (f"this animator {kind}: a stream of it costs {weight:.1f} stream units ({how}), "
                f"and the daemon's live streams hold {load:.0f} of its measured capacity of {self.limit:.0f} "
                "units; try again later or another replica")


def machine_cpu() -> tuple[float, float, float] | None:
    """(busy, total, niced) CPU time of the whole machine so far, in clock ticks, from ``/proc/stat``; None
    elsewhere."""
    try:
        with open("/proc/stat") as stat:
            return busy_and_total(stat.readline())
    except (OSError, ValueError, IndexError):
        return None


def busy_and_total(line: str) -> tuple[float, float, float]:
    """(busy, total, niced) clock ticks of a ``/proc/stat`` "cpu" line: idle and iowait are not busy; niced
    processes are, counted apart too: they yield to the daemon, but not all of their CPU (a nice-5 job keeps a
    quarter of a core it shares). Guest time is in user."""
    fields = [float(v) for v in line.split()[1:9]]  # user nice system idle iowait irq softirq steal
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return sum(fields) - idle, sum(fields), fields[1]
