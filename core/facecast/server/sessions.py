"""Session accounting: how many calls hold animator state, and a hard limit on them.

Live streams (``kind="live"``) count from the moment their call starts, before their config arrives, so
streams that never configure themselves still use up the limit (and time out, see :mod:`.stream`). A live
stream is also refused when ``admit`` (the measured live capacity, :mod:`.capacity`) says no.
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
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def active(self) -> int:
        return len(self._active)

    def count(self, kind: str) -> int:
        return sum(1 for k in self._active.values() if k == kind)

    def by_kind(self) -> dict[str, int]:
        return dict(Counter(self._active.values()))

    @contextlib.contextmanager
    def open(self, kind: str = "clip", admit: Callable[[int], str | None] | None = None) -> Iterator[str]:
        """Hold a session of ``kind`` while the block runs. ``admit(active of that kind)`` returns a reason to
        refuse, or None."""
        with self._lock:
            if len(self._active) >= self.max_sessions:
                raise SessionLimitReached(
                    f"the daemon already serves {self.max_sessions} sessions; try again later")
            reason = admit(self.count(kind)) if admit else None
            if reason:
                raise SessionLimitReached(reason)
            session_id = f"s{next(self._ids)}"
            self._active[session_id] = kind
        try:
            yield session_id
        finally:
            with self._lock:
                self._active.pop(session_id, None)
