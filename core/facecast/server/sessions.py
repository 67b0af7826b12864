"""Session accounting: how many calls hold animator state, and a hard limit on them.

Live streams (``kind="live"``) count from the moment their call starts, before their config arrives, so
streams that never configure themselves still use up the limit (and time out, see :mod:`.stream`). A live
stream is also refused when ``admit`` (the measured live capacity, :mod:`.capacity`) says no. Each session
carries a cost class (what it costs the live capacity; charged at open, changed by :meth:`SessionRegistry.recharge`
once a live stream's animator is known); the charge goes with the session when it ends.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections import Counter
from collections.abc import Callable, Iterator


class SessionLimitReached(Exception):
    pass


class SessionRegistry:
    """Counts live sessions; :meth:`open` refuses past ``max_sessions`` and always releases on exit."""

    def __init__(self, max_sessions: int) -> None:
        self.max_sessions = max_sessions
        self._active: dict[str, str] = {}  # session id -> kind
        self._costs: dict[str, str] = {}  # session id -> cost class
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def active(self) -> int:
        return len(self._active)

    def count(self, kind: str) -> int:
        return sum(1 for k in self._active.values() if k == kind)

    def costs(self, kind: str) -> Counter[str]:
        """The sessions of ``kind`` held now, by cost class."""
        with self._lock:
            return self._held(kind)

    def _held(self, kind: str, without: str | None = None) -> Counter[str]:  # under the lock
        return Counter(self._costs[s] for s, k in self._active.items() if k == kind and s != without)

    def by_kind(self) -> dict[str, int]:
        return dict(Counter(self._active.values()))

    @contextlib.contextmanager
    def open(self, kind: str = "clip", admit: Callable[[Counter[str]], str | None] | None = None,
             cost: str = "") -> Iterator[str]:
        """Hold a session of ``kind``, charged as cost class ``cost``, while the block runs. ``admit(the
        sessions of that kind held now, by cost class)`` returns a reason to refuse, or None."""
        with self._lock:
            if len(self._active) >= self.max_sessions:
                raise SessionLimitReached(
                    f"the daemon already serves {self.max_sessions} sessions; try again later")
            reason = admit(self._held(kind)) if admit else None
            if reason:
                raise SessionLimitReached(reason)
            session_id = f"s{next(self._ids)}"
            self._active[session_id] = kind
            self._costs[session_id] = cost
        try:
            yield session_id
        finally:
            with self._lock:
                self._active.pop(session_id, None)
                self._costs.pop(session_id, None)

    def recharge(self, session_id: str, cost: str, admit: Callable[[Counter[str]], str | None]) -> None:
        """Charge a held session as cost class ``cost`` if ``admit(the other sessions of its kind, by cost
        class)`` returns None; else raise :class:`SessionLimitReached` with its reason (the old charge stays
        until the session ends)."""
        with self._lock:
            reason = admit(self._held(self._active[session_id], without=session_id))
            if reason:
                raise SessionLimitReached(reason)
            self._costs[session_id] = cost
