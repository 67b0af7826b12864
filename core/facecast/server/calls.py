"""Ending calls cleanly when the client is still sending."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any


async def drain(requests: AsyncIterator[Any], seconds: float, is_last: Callable[[Any], bool] | None = None,
                grace: float = 0.2) -> None:
    """Read what a client is still sending before its call ends in an error: ending a call while the client writes
    makes gRPC clients (grpcio 1.67, as NVIDIA's wheels pin, and sometimes newer ones) report INTERNAL instead of
    the error and its message. Stops at the client's half-close, ``grace`` seconds after a message for which
    ``is_last`` is true, or after ``seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    # Best effort on a call that fails anyway: a client gone or a read cut short changes nothing.
    with contextlib.suppress(Exception):
        while (left := deadline - loop.time()) > 0:
            message = await asyncio.wait_for(anext(requests, None), left)
            if message is None:
                return
            if is_last and is_last(message):
                deadline = min(deadline, loop.time() + grace)
