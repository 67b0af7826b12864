"""One thread that sends every subject's Live Link packets at their time codes.

Frame ``k`` of a frame rate is due at ``epoch + k / fps`` on the monotonic clock, for every subject at that
rate, so subjects share ticks and the thread wakes once per tick, not once per subject. It sleeps until a
little before a deadline and spins the rest of the way, because ``sleep`` alone overshoots by a scheduler
quantum. The packet's frame number is the time-of-day timecode of the tick, as the app sends it.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import math
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from facecast.errors import InvalidInput

DEFAULT_PORT = 11111
SPIN_SECONDS = 0.001
# Python hands the GIL to a waiting thread only every "switch interval" (5 ms by default); a sender woken at
# its deadline would wait that long behind a busy thread, so the bridge shortens it.
SWITCH_INTERVAL = 0.0005
_DAY = 86400
REALTIME_PRIORITY = 10  # low among real-time threads; the spin keeps it to about 1 ms per tick


@dataclass
class SendLog:
    """What was sent for one subject: deadlines, actual send times (monotonic seconds) and frame numbers."""

    deadlines: list[float] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)
    frame_numbers: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # a new entry each time the send error changes

    @property
    def count(self) -> int:
        return len(self.sent_at)


def local_time_of_day() -> float:
    """Seconds since local midnight, the clock the app's timecodes count."""
    now = dt.datetime.now()
    return now.hour * 3600 + now.minute * 60 + now.second + now.microsecond / 1e6


def resolve(host: str, port: int) -> tuple[int, tuple]:
    """(address family, socket address) for a UDP destination, or :class:`InvalidInput` naming the host."""
    if not 0 < port < 65536:
        raise InvalidInput(f"Live Link port must be 1..65535, not {port}")
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
    except (socket.gaierror, UnicodeError) as e:
        raise InvalidInput(f"cannot resolve Live Link host {host!r}: {getattr(e, 'strerror', None) or e}") from None
    return family, address


class LiveLinkSender:
    """Sends scheduled packets to ``host:port`` over UDP from a background thread (start with :meth:`start`)."""

    def __init__(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT, spin_seconds: float = SPIN_SECONDS,
                 on_error: Callable[[str], None] | None = None, realtime: bool = False,
                 on_note: Callable[[str], None] | None = None) -> None:
        family, self.address = resolve(host, port)
        self.target = f"{host}:{port}"
        self._socket = socket.socket(family, socket.SOCK_DGRAM)
        self._spin = spin_seconds
        self._on_error = on_error
        self.realtime = realtime
        self.realtime_note = ""
        self._on_note = on_note
        self.epoch = time.monotonic()
        self._epoch_time_of_day = local_time_of_day()
        self._queue: list[tuple[float, int, bytes, SendLog, int]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="livelink-sender", daemon=True)

    def start(self) -> LiveLinkSender:
        if sys.getswitchinterval() > SWITCH_INTERVAL:
            sys.setswitchinterval(SWITCH_INTERVAL)
        self._thread.start()
        return self

    def tick_at_or_after(self, fps: int, moment: float) -> int:
        """The first tick of ``fps`` due at or after monotonic time ``moment``."""
        return max(0, math.ceil((moment - self.epoch) * fps - 1e-9))

    def deadline(self, fps: int, tick: int) -> float:
        return self.epoch + tick / fps

    def frame_time(self, fps: int, tick: int) -> tuple[int, float]:
        """(frame number, sub-frame) of a tick: the time-of-day timecode in frames, wrapping at midnight."""
        start = self._epoch_time_of_day * fps
        whole = math.floor(start)
        return int((whole + tick) % (_DAY * fps)), float(start - whole)

    def schedule(self, fps: int, tick: int, packet: bytes, log: SendLog) -> None:
        """Send ``packet`` at tick ``tick`` of ``fps`` (at once if that time has passed) and record it in ``log``."""
        with self._wake:
            heapq.heappush(self._queue, (self.deadline(fps, tick), next(self._order), packet, log,
                                         self.frame_time(fps, tick)[0]))
            self._wake.notify()

    def pending(self) -> int:
        with self._wake:
            return len(self._queue)

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every scheduled packet has gone out; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.pending():
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.005)
        return True

    def stop(self) -> None:
        """Stop at once (packets still queued are dropped) and close the socket."""
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self._thread.is_alive():
            self._thread.join()
        self._socket.close()

    def _next_due(self) -> tuple[float, bytes, SendLog, int] | None:
        with self._wake:
            while True:
                if self._stopping:
                    return None
                if not self._queue:
                    self._wake.wait()
                    continue
                wait = self._queue[0][0] - time.monotonic() - self._spin
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                due, _, packet, log, frame_number = heapq.heappop(self._queue)
                return due, packet, log, frame_number

    def _raise_priority(self) -> None:
        """Ask Linux to run this thread first (SCHED_FIFO): on a busy machine a normal thread that wakes at its
        deadline waits behind other processes for milliseconds. Needs root or CAP_SYS_NICE / an rtprio limit."""
        try:
            os.sched_setscheduler(threading.get_native_id(), os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))
            self.realtime_note = f"sender thread runs SCHED_FIFO priority {REALTIME_PRIORITY}"
        except (AttributeError, OSError) as e:
            self.realtime_note = f"real-time priority not available ({getattr(e, 'strerror', None) or e}); " \
                                 "timing may jitter on a busy machine"
        if self._on_note:
            self._on_note(self.realtime_note)

    def _run(self) -> None:
        if self.realtime:
            self._raise_priority()
        while (item := self._next_due()) is not None:
            due, packet, log, frame_number = item
            while time.monotonic() < due:
                pass
            try:
                self._socket.sendto(packet, self.address)
            except OSError as e:
                message = f"cannot send to Live Link host {self.target}: {e.strerror or e}"
                if not log.errors or log.errors[-1] != message:  # once per outage, not once per packet
                    log.errors.append(message)
                    if self._on_error:
                        self._on_error(message)
                continue
            log.sent_at.append(time.monotonic())
            log.deadlines.append(due)
            log.frame_numbers.append(frame_number)
