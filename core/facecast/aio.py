"""Python asyncio client for the facecast daemon: many live streams on one event loop.

    import asyncio
    from facecast.aio import AsyncClient

    async def npc(client: AsyncClient, chunks: list[bytes]) -> None:
        async with client.stream(sample_rate=16000, emotion="happy") as live:
            async def speak() -> None:
                for chunk in chunks:                  # 20 ms of PCM16 each, as a microphone gives them
                    await live.send(chunk)
                await live.end()
            speaking = asyncio.create_task(speak())
            async for frame in live.frames():
                ...                                   # 61 floats in frame.values, as they are due
            await speaking

    async def main() -> None:
        async with AsyncClient("127.0.0.1:50051") as client:
            await asyncio.gather(*(npc(client, chunks) for chunks in voices))

Why a second client: :class:`facecast.client.Client` gives each live stream three threads (the caller's
sender and reader, gRPC's request feeder), which take turns on the interpreter lock. Thirty-two NPCs in one
process then cost as much CPU as the daemon serving them, and a frame waits for its reader thread's turn
(docs/BENCHMARKS.md, "32 live neural streams per daemon, ninth stop"). Here every stream of the process shares
one event loop and one thread. Calls, arguments, errors (:class:`~facecast.client.ServerError`) and results
(:class:`~facecast.motion.MotionClip`, :class:`~facecast.motion.MotionFrame`) are the threaded client's.

A stream's audio is held until the daemon's first response arrives (its header, sent as soon as the stream
is admitted and before any audio, or a refusal): a write that races a refusal would turn the daemon's
``RESOURCE_EXHAUSTED`` into ``INTERNAL: Internal error from Core`` (gRPC asyncio overwrites the status when a
write fails after the server ended the call, grpc/grpc#36066). Nothing is dropped; the first chunks leave one
round trip later.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc

from facecast import wire
from facecast.client import (
    Connection,
    ServerError,
    StreamWatch,
    TakeBuilder,
    WatchedStream,
    _controls_message,
    _cut_short,
    _plain,
    _server_error,
    animate_request,
    pcm_request,
    stream_config,
)
from facecast.controls import Controls
from facecast.motion import DEFAULT_FPS, MotionClip, MotionFrame
from facecast.proto import facecast_pb2 as pb

__all__ = ["AsyncClient", "AsyncLiveStream", "ServerError"]


class AsyncClient(Connection):
    """A connection to a facecast daemon for asyncio code; the arguments are :class:`facecast.client.Client`'s.
    Use it inside one event loop (``async with AsyncClient(...) as client``)."""

    _channels = grpc.aio

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    async def wait_ready(self, timeout: float = 10.0) -> None:
        """Wait until the daemon accepts connections, or raise :class:`ServerError`."""
        try:
            await asyncio.wait_for(self._channel.channel_ready(), timeout)
        except asyncio.TimeoutError:
            raise ServerError("UNAVAILABLE", f"no facecast daemon at {self.address} after {timeout:g} s") from None

    async def health(self, service: str = "") -> str:
        """The daemon's health status name, e.g. ``SERVING``."""
        stub = health_pb2_grpc.HealthStub(self._channel)
        try:
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=self.timeout or 5)
        except grpc.RpcError as e:
            raise _server_error(e, self.address) from None
        return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

    async def info(self) -> dict[str, Any]:
        """Version, animators, providers, fps options, limits and active sessions."""
        try:
            reply = await self._stub.GetInfo(pb.GetInfoRequest(), timeout=self.timeout, metadata=self._metadata)
        except grpc.RpcError as e:
            raise _server_error(e, self.address) from None
        return _plain(reply)

    async def animate_responses(self, audio: str | os.PathLike[str] | bytes, animator: str | None = None,
                                fps: int = DEFAULT_FPS, controls: Controls | None = None, text: str | None = None,
                                language: str | None = None, echo_audio: bool = False,
                                texture: pb.TextureOptions | None = None,
                                **control_fields: Any) -> AsyncIterator[pb.MotionResponse]:
        """The raw response stream of ``Animate``, as :meth:`facecast.client.Client.animate_responses`."""
        request = animate_request(audio, animator, fps, controls, text, language, echo_audio, texture,
                                  control_fields)
        ended = False
        try:
            async for response in self._stub.Animate(request, timeout=self.timeout, metadata=self._metadata):
                ended = response.WhichOneof("kind") == "status"
                yield response
        except grpc.RpcError as e:
            raise _server_error(e, self.address) from None
        if not ended:
            raise _cut_short(self.address)

    async def animate(self, audio: str | os.PathLike[str] | bytes, animator: str | None = None,
                      fps: int = DEFAULT_FPS, controls: Controls | None = None, text: str | None = None,
                      language: str | None = None, progress: Callable[[float, float], None] | None = None,
                      **control_fields: Any) -> MotionClip:
        """Animate a whole clip on the daemon and return the take, as :meth:`facecast.client.Client.animate`
        (the same progress, warnings and metadata)."""
        take = TakeBuilder(progress)
        async for response in self.animate_responses(audio, animator, fps, controls, text, language,
                                                     **control_fields):
            take.add(response)
        return take.clip(fps, animator, self.address)

    def stream(self, sample_rate: int = 16000, animator: str | None = None, fps: int = DEFAULT_FPS,
               controls: Controls | None = None, sample_format: str = "pcm16", echo_audio: bool = False,
               text: str | None = None, language: str | None = None, texture: pb.TextureOptions | None = None,
               **control_fields: Any) -> AsyncLiveStream:
        """Open a real-time ``Stream``: ``await send(...)`` PCM chunks as they are spoken, ``async for`` the
        frames as they come (from another task)."""
        config = stream_config(sample_rate, animator, fps, controls, sample_format, echo_audio, text, language,
                               texture, control_fields)
        return AsyncLiveStream(self, config)


class AsyncLiveStream(WatchedStream):
    """One real-time session on an event loop: one task sends (:meth:`send`, :meth:`update`, :meth:`end`),
    another reads (:meth:`responses` or :meth:`frames`). ``async with`` ends the stream on leaving the block, or
    cancels it when the block raised."""

    _END = object()

    def __init__(self, client: AsyncClient, config: pb.StreamConfig) -> None:
        self._client = client
        self._requests: asyncio.Queue[Any] = asyncio.Queue()
        self._closed = False
        self._cancelled = False  # by this client (cancel()), not by the daemon or a proxy
        self._watch = StreamWatch()
        self._call = client._stub.Stream(self._request_iterator(config), timeout=client.timeout,
                                         metadata=client._metadata)

    async def _request_iterator(self, config: pb.StreamConfig) -> AsyncIterator[pb.StreamRequest]:
        yield pb.StreamRequest(config=config)
        # See the module docstring: no write may race a refusal. The daemon's first response (the header, or a
        # refusal's status) brings the call's initial metadata; nothing of the responses is consumed here.
        await self._call.initial_metadata()
        while not self._call.done() and (item := await self._requests.get()) is not self._END:
            yield item

    async def __aenter__(self) -> AsyncLiveStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if exc[0] is None:
            await self.end()
        else:
            self.cancel()

    async def send(self, pcm: bytes | np.ndarray) -> None:
        """Queue one audio chunk (bytes in the configured format, or a float32 array)."""
        await self._requests.put(pcm_request(pcm))

    async def update(self, controls: Controls | None = None, **control_fields: Any) -> None:
        """Change controls mid-utterance (emotion, gaze, intensity, ...)."""
        await self._requests.put(pb.StreamRequest(controls=_controls_message(controls, control_fields)))

    async def end(self) -> None:
        """No more audio: the daemon flushes the last frames and closes with a status."""
        if not self._closed:
            self._closed = True
            await self._requests.put(pb.StreamRequest(end=pb.End()))
            await self._requests.put(self._END)

    def cancel(self) -> None:
        """Stop the stream now; readers see the end of the responses."""
        self._closed = True
        self._cancelled = True
        self._requests.put_nowait(self._END)
        self._call.cancel()

    async def responses(self) -> AsyncIterator[pb.MotionResponse]:
        """Every response as it arrives (header, frame batches, audio echoes, events, the final status)."""
        try:
            async for response in self._call:
                self._watch.see(response)
                yield response
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.CANCELLED and self._cancelled:
                return
            raise _server_error(e, self._client.address) from None
        except asyncio.CancelledError:
            if self._cancelled:
                return
            raise
        finally:
            self._requests.put_nowait(self._END)  # the call is over: the request iterator stops waiting
        if not self._watch.ended:
            raise _cut_short(self._client.address)

    async def frames(self) -> AsyncIterator[MotionFrame]:
        """Only the motion frames, in order."""
        async for response in self.responses():
            if response.WhichOneof("kind") == "frames":
                for frame in wire.frames_from_batch(response.frames):
                    yield frame
