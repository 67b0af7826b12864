"""What every call shares: the errors a request can cause mapped to gRPC statuses, and ending calls cleanly when
the client is still sending."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any, TypeVar

import grpc

from facecast.errors import FacecastError
from facecast.server import metrics
from facecast.server.sessions import SessionLimitReached

log = logging.getLogger("facecast.server.calls")
F = TypeVar("F", bound=Callable[..., Any])


class CallTimeout(Exception):
    """The client sent nothing for too long (no config, or an idle stream)."""


class WorkerFailed(Exception):
    """A worker process died or failed while doing the call's work."""


class ModelUnavailable(Exception):
    """An animator or model failed to load: the call ends UNAVAILABLE and health turns NOT_SERVING."""


class ShuttingDown(Exception):
    """The daemon is draining: new calls go to another replica."""


STATUS_OF: tuple[tuple[type[BaseException], grpc.StatusCode], ...] = (
    (FacecastError, grpc.StatusCode.INVALID_ARGUMENT),
    (SessionLimitReached, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (CallTimeout, grpc.StatusCode.DEADLINE_EXCEEDED),
    (WorkerFailed, grpc.StatusCode.INTERNAL),
    (ModelUnavailable, grpc.StatusCode.UNAVAILABLE),
    (ShuttingDown, grpc.StatusCode.UNAVAILABLE),
)
ERRORS = tuple(kind for kind, _ in STATUS_OF)


def status_of(error: BaseException) -> grpc.StatusCode:
    return next(code for kind, code in STATUS_OF if isinstance(error, kind))


async def _abort(method: str, context: grpc.aio.ServicerContext, error: BaseException) -> None:
    code = status_of(error)
    metrics.DAEMON.errors.inc(method=method, code=code.name)
    if isinstance(error, SessionLimitReached):
        metrics.DAEMON.refused.inc(method=method)
    log.info("call ended", extra={"event": "call_error", "method": method, "code": code.name,
                                  "detail": str(error)[:200]})
    await context.abort(code, str(error))


def handles_errors(method: F) -> F:
    """Map the errors a request can cause to gRPC statuses with their message; the daemon carries on. Wraps
    unary methods (coroutines) and streaming ones (async generators) alike."""
    name = method.__name__
    if inspect.isasyncgenfunction(method):
        @functools.wraps(method)
        async def streaming(self: Any, request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            try:
                async for response in method(self, request, context):
                    yield response
            except ERRORS as e:
                await _abort(name, context, e)

        return streaming  # type: ignore[return-value]

    @functools.wraps(method)
    async def unary(self: Any, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await method(self, request, context)
        except ERRORS as e:
            await _abort(name, context, e)

    return unary  # type: ignore[return-value]


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


class Watchdog:
    """Cancels the current task (a call's handler) when it is stuck handing a response to gRPC for ``seconds``:
    a client that stopped reading its responses holds its session no longer than a silent one. (A handler
    waiting for a message is left to its read timeout, which ends the call with a status.)"""

    def __init__(self, seconds: float, method: str = "Stream") -> None:
        self.seconds, self.method = seconds, method
        self.stalled = False
        self.reading = False
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._last = self._loop.time()
        self._timer = self._loop.call_later(seconds, self._check)

    def tick(self) -> None:
        self._last = self._loop.time()

    def _check(self) -> None:
        idle = self._loop.time() - self._last
        if self.reading:
            self._timer = self._loop.call_later(self.seconds, self._check)
        elif idle < self.seconds:
            self._timer = self._loop.call_later(self.seconds - idle, self._check)
        elif self._task is not None:
            self.stalled = True
            log.info("call stalled", extra={"event": "stalled", "seconds": self.seconds})
            metrics.DAEMON.errors.inc(method=self.method, code="CANCELLED")
            self._task.cancel()

    async def guard(self, responses: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """``responses`` (a handler's own generator), watched only while each is handed to gRPC: the time spent
        making the next one (a clip worker computing, a renderer) never counts as a stall."""
        try:
            while True:
                self.reading = True
                try:
                    response = await anext(responses)
                except StopAsyncIteration:
                    return
                finally:
                    self.reading = False
                    self.tick()
                yield response
        finally:
            self.close()
            if isinstance(responses, AsyncGenerator):
                await responses.aclose()  # its cleanup (a clip worker killed, its slot freed) runs now

    def close(self) -> None:
        self._timer.cancel()


class RequestReader:
    """A call's request stream read one message at a time, each within a timeout (:class:`CallTimeout`);
    :meth:`interrupt` (the daemon is draining) ends the current and every later read as if the client had
    half-closed, so the call can send its final messages."""

    def __init__(self, requests: AsyncIterator[Any], watchdog: Watchdog | None = None) -> None:
        self.requests = requests
        self.watchdog = watchdog
        self.interrupted = False
        self._timeout: Any = None

    async def next(self, seconds: float, what: str) -> Any:
        if self.interrupted:
            return None
        if self.watchdog:
            self.watchdog.tick()
            self.watchdog.reading = True
        try:
            if sys.version_info >= (3, 11):  # no task per message, and interruptible
                async with asyncio.timeout(seconds) as self._timeout:
                    return await anext(self.requests, None)
            return await asyncio.wait_for(anext(self.requests, None), seconds)
        except asyncio.TimeoutError:
            if self.interrupted:
                return None
            raise CallTimeout(f"no {what} for {seconds:g} s; the stream is closed") from None
        finally:
            self._timeout = None
            if self.watchdog:
                self.watchdog.reading = False
                self.watchdog.tick()

    def tick(self) -> None:
        """The call handed a response to gRPC: it is making progress."""
        if self.watchdog:
            self.watchdog.tick()

    def interrupt(self) -> None:
        self.interrupted = True
        if self._timeout is not None:
            self._timeout.reschedule(asyncio.get_running_loop().time())
