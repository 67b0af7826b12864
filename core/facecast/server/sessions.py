"""Session accounting: how many calls hold animator state, and a hard limit on them."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator


class SessionLimitReached(Exception):
    pass


class SessionRegistry:
    """Counts live sessions; :meth:`open` refuses past ``max_sessions`` and always releases on exit."""

    def __init__(self, max_sessions: int) -> None:
        self.max_sessions = max_sessions
        self._active: set[str] = set()
        self._ids = itertools.count(1)

    @property
    def active(self) -> int:
        return len(self._active)

    @contextlib.contextmanager
    def open(self) -> Iterator[str]:
        if len(self._active) >= self.max_sessions:
            raise SessionLimitReached(f"the daemon already serves {self.max_sessions} sessions; try again later")
        session_id = f"s{next(self._ids)}"
        self._active.add(session_id)
        try:
            yield session_id
        finally:
            self._active.discard(session_id)
