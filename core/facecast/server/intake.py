"""Requests that cannot be parsed: a malformed protobuf or invalid UTF-8 in a string field ends the call with
INVALID_ARGUMENT and a message, instead of the UNKNOWN that grpc answers when a request deserializer raises.

:class:`MalformedRequestInterceptor` wraps every handler: its deserializer returns a :class:`Malformed` marker
instead of raising; unary calls are refused before the servicer runs, and a request stream raises
:class:`~facecast.errors.InvalidInput` at the bad message (so the servicer's error mapping, and its drain of
what the client still sends, apply). :func:`check_request` is the same test for code that parses by itself.
"""

from __future__ import annotations

import inspect
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from facecast.errors import InvalidInput
from facecast.server.security import GuardInterceptor, client_identity, deny


class Malformed:
    """Stands for a request message that did not parse; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """``deserializer``, returning :class:`Malformed` where it would raise."""
    if deserializer is None:
        return None

    def parse(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception as e:  # protobuf raises DecodeError, and others for some corruptions
            return Malformed(f"the request is not a valid protobuf message ({type(e).__name__}: "
                             f"{str(e)[:120]})")

    return parse


def check_request(request: Any) -> Any:
    """``request``, or :class:`InvalidInput` when it is a :class:`Malformed` marker."""
    if isinstance(request, Malformed):
        raise InvalidInput(request.reason)
    return request


class CheckedRequests:
    """A request stream whose malformed messages raise :class:`InvalidInput`; reading may go on after one
    (a failing call drains what the client still sends)."""

    def __init__(self, requests: AsyncIterator[Any]) -> None:
        self._requests = requests

    def __aiter__(self) -> CheckedRequests:
        return self

    async def __anext__(self) -> Any:
        return check_request(await self._requests.__anext__())

    async def read(self) -> Any:  # grpc.aio's request iterators offer read() too
        return check_request(await self.__anext__())


Before = Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]


def wrap_handler(handler: grpc.RpcMethodHandler, before: Before,
                 deserializer: Callable[[bytes], Any] | None = None) -> grpc.RpcMethodHandler:
    """``handler`` whose behaviour first awaits ``before(request or request iterator, context)`` and is called
    with what it returns (``before`` may abort the call); ``deserializer`` replaces the handler's.
    Synchronous behaviours are left as they are (the daemon has none)."""
    kind = ("stream" if handler.request_streaming else "unary") + "_" + (
        "stream" if handler.response_streaming else "unary")
    behavior = getattr(handler, kind)
    if inspect.isasyncgenfunction(behavior):
        async def wrapped_stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            async for response in behavior(await before(request, context), context):
                yield response

        wrapped: Callable[..., Any] = wrapped_stream
    elif inspect.iscoroutinefunction(behavior):
        async def wrapped_call(request: Any, context: grpc.aio.ServicerContext) -> Any:
            return await behavior(await before(request, context), context)

        wrapped = wrapped_call
    else:
        return handler
    make = getattr(grpc, f"{kind}_rpc_method_handler")
    return make(wrapped, request_deserializer=deserializer or handler.request_deserializer,
                response_serializer=handler.response_serializer)


def guard_handler(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """``handler`` with a tolerant deserializer: malformed unary requests get INVALID_ARGUMENT before the
    method runs; streaming ones reach it as :class:`CheckedRequests`."""

    async def check(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if handler.request_streaming:
            return CheckedRequests(aiter(request))
        if isinstance(request, Malformed):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.reason)
        return request

    return wrap_handler(handler, check, tolerant(handler.request_deserializer))


class MalformedRequestInterceptor(grpc.aio.ServerInterceptor):
    """Applies :func:`guard_handler` to every method (health and reflection included)."""

    async def intercept_service(
            self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]],
            handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        return None if handler is None else guard_handler(handler)


class RateLimiter:
    """A token bucket per client: ``rate`` calls per second on average, bursts of ``burst``; the least
    recently seen clients are forgotten past ``max_clients``."""

    def __init__(self, rate: float, burst: int, max_clients: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.max_clients, self._clock = rate, max(1, burst), max_clients, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client -> (tokens, when)

    def admit(self, client: str) -> bool:
        now = self._clock()
        tokens, then = self._buckets.pop(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.rate)
        admitted = tokens >= 1.0
        self._buckets[client] = (tokens - 1.0 if admitted else tokens, now)
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return admitted


class RateLimitInterceptor(GuardInterceptor):
    """Refuses calls past a client's :class:`RateLimiter` budget with RESOURCE_EXHAUSTED (health checks and
    reflection are not counted). Clients are told apart by :func:`security.client_identity`."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    def guard(self, handler: grpc.RpcMethodHandler, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        limiter = self.limiter
        refusal = deny(handler, grpc.StatusCode.RESOURCE_EXHAUSTED,
                       f"rate limit: at most {limiter.rate:g} calls per second per client (bursts of "
                       f"{limiter.burst}); try again shortly")

        async def admit(request: Any, context: grpc.aio.ServicerContext) -> Any:
            if not limiter.admit(client_identity(context)):
                behavior = refusal.stream_stream or refusal.stream_unary
                result = behavior(request, context)
                if inspect.isasyncgen(result):
                    async for _ in result:
                        pass
                else:
                    await result
            return request

        return wrap_handler(handler, admit)
