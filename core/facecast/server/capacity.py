"""How many live streams this process can serve on time, measured while it serves them.

Every ``window`` seconds :meth:`LiveCapacity.sample` reads the process's CPU time (the event loop and the
scheduler threads; whole clips run in worker processes and do not count), the live frames sent in that window
and their lateness. The frames sent say how many 30 fps streams were served on average; the estimate is the
number of streams that would use ``target_cores`` at the measured CPU per stream (by default
:data:`CORE_SHARE` of the cores the process may run on), and no more than would keep the threads that run
Python (the event loop and the scheduler lanes, read by ``python_cpu``) under ``python_cores``: they share one
interpreter lock, so however many cores the machine has, their Python code runs on one at a time; only what
they do outside it (ONNX Runtime, gRPC's own threads) uses the others. While frames are on time the
limit grows towards it: 1.5x per window while the machine has idle CPU (``min_idle`` of its cores, read from
``/proc/stat``: other replicas, clients and other jobs on the machine count, niced ones too), else by two
streams. A window that used under :data:`LOW_UTILISATION` of the targets, on a machine with CPU to spare (idle
or niced), does not take the limit below its initial value (its extrapolation is long and pessimistic). A
window whose p99 lateness exceeded one frame stops admissions until the streams are on time again; an idle
window returns the limit to its initial value. New live streams past the limit are refused with RESOURCE_EXHAUSTED
and a message saying why, so admitted streams stay on time instead of all becoming late together.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import numpy as np

FRAME_SECONDS = 1 / 30  # the lateness budget: one frame at 30 fps
CORE_SHARE = 0.75  # of the cores the daemon may run on: what live streams may use by default (the rest: headroom)
PYTHON_CORES = 0.8  # what the threads running Python may use together (one interpreter lock: under one core)
LOW_UTILISATION = 0.5  # a window that used less than this share of the targets says little about the limit
INITIAL_PER_CORE = 16  # live streams admitted per usable core before any measurement (measured on 2 cores: 32
# neural streams use 0.7-0.8 of the daemon's cores, docs/BENCHMARKS.md)
UNGATHERED_PER_CORE = 8  # the same for streams of an animator that does not gather its streams' chunks into one
# call (``Animator.batch_wait_ms`` 0: each chunk costs its own Python time under the one interpreter lock; 32
# `energy` streams ran 1-10 frames late on the quiet 2-core box, 22-23 were on time, docs/BENCHMARKS.md)


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
    """Live streams of an animator that does not gather admitted before a measurement says more:
    :data:`UNGATHERED_PER_CORE` per usable core."""
    return UNGATHERED_PER_CORE * usable_cores()


def default_initial_streams() -> int:
    """Live streams admitted before the first measurement: :data:`INITIAL_PER_CORE` per usable core."""
    return INITIAL_PER_CORE * usable_cores()


class LiveCapacity:
    def __init__(self, initial: int = 16, target_cores: float | None = None, window: float = 2.0,
                 ceiling: int = 1024, budget_seconds: float = FRAME_SECONDS, min_idle: float = 0.15,
                 python_cpu: Callable[[], float] | None = None, python_cores: float = PYTHON_CORES) -> None:
        """``target_cores``: None for :func:`default_target_cores`. ``python_cpu``: the CPU seconds so far of the
        threads that run Python (called in the thread that calls :meth:`sample`); None: not bounded apart."""
        self.limit = self.initial = initial
        self.ungathered = min(initial, default_ungathered_streams())
        self.estimate: float | None = None  # streams the last measured window's CPU says fit (None: not measured)
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
        self._frames = 0
        self.measured = False
        self._lock = threading.Lock()
        self.last_p99 = 0.0
        self.last_cpu = 0.0
        self.overloaded = False

    def observe(self, lateness_seconds: float, frames: int) -> None:
        with self._lock:
            self._lateness.append(lateness_seconds)
            self._frames += frames

    def sample(self, active_live: int) -> None:
        """Close a measurement window: update the CPU per stream, lateness and the limit."""
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
            frames, self._frames = self._frames, 0
        served = frames / (elapsed / FRAME_SECONDS)  # 30 fps streams served on average in the window
        machine = machine_cpu()
        if machine and self._machine:
            busy, total, niced = (now - then for now, then in zip(machine, self._machine))
            self.machine_idle = 1.0 - busy / total if total > 0 else 1.0
            self.machine_spare = 1.0 - (busy - niced) / total if total > 0 else 1.0
        self._machine = machine
        self.last_cpu = used
        self.last_p99 = float(np.percentile(late, 99)) if late else 0.0
        self.overloaded = self.last_p99 > self.budget
        if self.overloaded:  # no new streams until the admitted ones are on time again
            self.limit = max(1, min(self.limit, active_live))
        elif served < 2:  # (nearly) idle: nothing to measure, back to the prior
            self.limit = max(self.limit, min(self.initial, self.ceiling))
            self.estimate = None
        elif used > 0.02:
            self.measured = True
            estimate = served * self.target_cores / used
            if python_used is not None and python_used > 0.02:
                estimate = min(estimate, served * self.python_cores / python_used)
            self.estimate = estimate
            # on time: grow 1.5x per window while the machine has CPU to spare, else by two streams (the CPU per
            # stream changes with how many share a batch, and other processes take the machine's CPU)
            base = max(self.limit, active_live)
            grown = 1.5 * base if self.machine_idle >= self.min_idle else base + 2
            # A window that used little of the targets extrapolates far, and too low: the CPU per stream falls as
            # streams share model calls and gRPC wake-ups (neural, 4 -> 32 streams: 0.058 -> 0.018 Python cores
            # each). On a machine with CPU to spare (idle, or taken by niced jobs: they yield), such an estimate
            # does not take the limit below the initial one.
            python_share = (python_used or 0.0) / self.python_cores
            little = max(used / self.target_cores, python_share) < LOW_UTILISATION
            floor = self.initial if little and self.machine_spare >= self.min_idle else 1
            self.limit = int(min(self.ceiling, max(floor, min(estimate, grown))))

    def refusal_for_animator(self, active_live: int, gathers: bool) -> str | None:
        """Once a stream's config names its animator (``active_live`` counts this stream): why a stream of an
        animator that does not gather its chunks (``gathers`` False) is refused, or None. Such streams get the
        initial limit's share for them (:data:`UNGATHERED_PER_CORE`) until a measured window's estimate says
        more; the low-utilisation floor of :meth:`sample`, which is right for gathering animators, is not theirs."""
        if gathers:
            return None
        cap = min(self.limit, max(self.ungathered, int(self.estimate or 0)))
        if active_live <= cap:
            return None
        return (f"the daemon serves {active_live - 1} live streams, its measured capacity for an animator that "
                f"runs each stream apart ({cap} until a measurement says more); try again later or another replica")

    def refusal(self, active_live: int) -> str | None:
        """Why a new live stream is refused now, or None to admit it."""
        if active_live < self.limit:
            return None
        why = (f"live frames ran late (p99 {self.last_p99 * 1000:.0f} ms)" if self.overloaded
               else f"{self.last_cpu:.2f} cores busy ({self.last_python:.2f} in Python threads) of a target of "
                    f"{self.target_cores:.2f}, machine {self.machine_idle:.0%} idle" if self.measured
            else "not measured yet")
        return (f"the daemon serves {active_live} live streams, its measured capacity ({why}); "
                "try again later or another replica")


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
