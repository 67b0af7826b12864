"""Python client for the facecast daemon.

    from facecast.client import Client

    with Client("127.0.0.1:50051") as client:
        print(client.info()["version"])
        clip = client.animate("speech.wav", emotion="happy")          # a MotionClip
        with client.stream(sample_rate=16000) as live:              # real time
            live.send(pcm16_bytes)
            for frame in live.frames(): ...

Errors from the daemon arrive as :class:`ServerError` carrying the gRPC status name and the daemon's message.
"""

from __future__ import annotations

import os
import queue
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

import grpc
import numpy as np
from grpc_health.v1 import health_pb2, health_pb2_grpc

from facecast import wire
from facecast.controls import Controls
from facecast.errors import FacecastError
from facecast.fileio import read_input
from facecast.media import float_to_pcm16
from facecast.motion import CHANNELS, DEFAULT_FPS, MotionClip, MotionFrame
from facecast.proto import facecast_pb2 as pb
from facecast.proto import facecast_pb2_grpc

DEFAULT_ADDRESS = "127.0.0.1:50051"
_SAMPLE_FORMATS = {"pcm16": pb.PCM16, "float32": pb.FLOAT32}
_TEXTURE_ENCODINGS = {"jpeg": pb.JPEG, "rgba": pb.RGBA}


class ServerError(FacecastError):
    """The daemon refused or failed a call; ``code`` is the gRPC status name (e.g. ``INVALID_ARGUMENT``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{message} ({code})" if code != "UNAVAILABLE" else message)
        self.code = code


def _server_error(error: grpc.RpcError, address: str) -> ServerError:
    code = error.code()
    if code == grpc.StatusCode.UNAVAILABLE:
        return ServerError("UNAVAILABLE", f"no facecast daemon at {address} (start one with `facecast serve`)")
    return ServerError(code.name, error.details() or code.name)


# Calls that another replica (or the same one, a moment later) may well serve: the replica went away (killed,
# draining, unreachable; a proxy cancelling the call this client did not cancel) or is full ("try again later
# or another replica").
RETRY_CODES = ("UNAVAILABLE", "RESOURCE_EXHAUSTED", "CANCELLED")
# Through a proxy, a replica that died mid-call surfaces as INTERNAL: Ray Serve's gRPC proxy says so in Ray's
# words, nginx resets the call's HTTP/2 stream (which grpc reports as "Received RST_STREAM ..."). A daemon's own
# INTERNAL answers carry neither.
_PROXY_LOST = ("actor died unexpectedly", "Received RST_STREAM")
T = TypeVar("T")


def replica_lost(error: ServerError) -> bool:
    """True when ``error`` says the replica serving the call went away or is full, so that the same call, made
    again (a load balancer picks a replica that is up), may succeed; False for answers about the request itself
    (INVALID_ARGUMENT, UNAUTHENTICATED, ...)."""
    return error.code in RETRY_CODES or (error.code == "INTERNAL" and any(s in str(error) for s in _PROXY_LOST))


def retrying(call: Callable[[], T], attempts: int = 4, backoff: float = 0.5) -> T:
    """``call()``; made again while it fails with :func:`replica_lost`, after ``backoff`` seconds, doubling,
    ``attempts`` times in all; the last error is raised. For a live stream, ``call`` opens a new stream and sends
    its audio (what a replica that died had received is lost with it)::

        clip = retrying(lambda: client.animate("speech.wav"))
    """
    attempt = 0
    while True:
        try:
            return call()
        except ServerError as e:
            attempt += 1
            if attempt >= attempts or not replica_lost(e):
                raise
        time.sleep(backoff * 2 ** (attempt - 1))


def texture_options(avatar_id: str | None, encoding: str = "jpeg", size: int = 512,
                    jpeg_quality: int = 90) -> pb.TextureOptions:
    """Ask for rendered frames of ``avatar_id`` (from :meth:`Client.create_avatar`) beside the motion."""
    if not avatar_id:
        return pb.TextureOptions()
    if encoding not in _TEXTURE_ENCODINGS:
        raise FacecastError(f"texture encoding must be one of {', '.join(_TEXTURE_ENCODINGS)}, not {encoding!r}")
    return pb.TextureOptions(avatar_id=avatar_id, encoding=_TEXTURE_ENCODINGS[encoding], size=size,
                             jpeg_quality=jpeg_quality)


def _controls_message(controls: Controls | None, fields: dict[str, Any]) -> pb.Controls:
    if fields:
        controls = Controls.from_dict({**(controls.to_dict() if controls else {}), **fields})
    return wire.controls_to_proto(controls.validated()) if controls else pb.Controls()


def _plain(message: Any) -> Any:
    """A protobuf message as dicts, lists and plain numbers (json_format writes 64-bit integers as strings)."""
    from google.protobuf.descriptor import FieldDescriptor

    def value(field: FieldDescriptor, v: Any) -> Any:
        if field.type == FieldDescriptor.TYPE_MESSAGE:
            return _plain(v)
        if field.type == FieldDescriptor.TYPE_ENUM:
            return field.enum_type.values_by_number[v].name if v in field.enum_type.values_by_number else v
        return v.decode("latin-1") if isinstance(v, bytes) else v

    out = {}
    for field in message.DESCRIPTOR.fields:
        v = getattr(message, field.name)
        repeated = field.is_repeated if hasattr(field, "is_repeated") else field.label == FieldDescriptor.LABEL_REPEATED
        out[field.name] = [value(field, x) for x in v] if repeated else value(field, v)
    return out


def channel_options(max_message_bytes: int, load_balancing: str | None) -> list[tuple[str, object]]:
    """gRPC channel arguments shared by :class:`Client` and :class:`facecast.aio.AsyncClient`."""
    options: list[tuple[str, object]] = [("grpc.max_receive_message_length", max_message_bytes),
                                         ("grpc.max_send_message_length", max_message_bytes)]
    if load_balancing:  # e.g. "round_robin" over "ipv4:10.0.0.1:50051,10.0.0.2:50051" (replicas)
        options.append(("grpc.lb_policy_name", load_balancing))
    return options


def bearer(token: str | None) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),) if token else ()


def animate_request(audio: str | os.PathLike[str] | bytes, animator: str | None, fps: int,
                    controls: Controls | None, text: str | None, language: str | None, echo_audio: bool,
                    texture: pb.TextureOptions | None, control_fields: dict[str, Any]) -> pb.AnimateRequest:
    return pb.AnimateRequest(
        audio=pb.AudioInput(encoded=read_input(audio, "audio")[0]), animator=animator or "", fps=fps,
        controls=_controls_message(controls, control_fields), text=text or "", language=language or "",
        echo_audio=echo_audio, texture=texture or pb.TextureOptions())


def stream_config(sample_rate: int, animator: str | None, fps: int, controls: Controls | None,
                  sample_format: str, echo_audio: bool, text: str | None, language: str | None,
                  texture: pb.TextureOptions | None, control_fields: dict[str, Any]) -> pb.StreamConfig:
    if sample_format not in _SAMPLE_FORMATS:
        raise FacecastError(f"sample format must be one of {', '.join(_SAMPLE_FORMATS)}, not {sample_format!r}")
    return pb.StreamConfig(
        animator=animator or "", fps=fps, sample_rate=sample_rate, format=_SAMPLE_FORMATS[sample_format],
        controls=_controls_message(controls, control_fields), echo_audio=echo_audio, text=text or "",
        language=language or "", texture=texture or pb.TextureOptions())


def pcm_request(pcm: bytes | np.ndarray) -> pb.StreamRequest:
    """One audio chunk: bytes in the configured format, or a float32 array."""
    return pb.StreamRequest(pcm=pcm.astype("<f4").tobytes() if isinstance(pcm, np.ndarray) else bytes(pcm))


class TakeBuilder:
    """The responses of one ``Animate`` call gathered into a take, with its progress reported (the logic of
    :meth:`Client.animate`, shared with the asyncio client)."""

    def __init__(self, progress: Callable[[float, float], None] | None) -> None:
        self.frames: list[MotionFrame] = []
        self.header: pb.StreamHeader | None = None
        self.warnings: list[str] = []
        self._progress = progress
        self._before: Callable[[float, float], None] | None = None  # the work before the first frame
        self._during = progress  # the frames

    def add(self, response: pb.MotionResponse) -> None:
        from facecast.animators.base import split_progress

        kind = response.WhichOneof("kind")
        header = self.header
        if kind == "header":
            self.header = response.header
            _check_channels(self.header)
        elif kind == "event" and response.event.name == "progress" and self._progress and header:
            if self._before is None:
                self._before, self._during = split_progress(self._progress, response.event.detail or "preparing")
            if self._before is not None:
                self._before(min(response.event.time_code * header.fps, header.total_frames), header.total_frames)
        elif kind == "frames":
            self.frames += wire.frames_from_batch(response.frames)
            if self._during and header:
                self._during(len(self.frames), header.total_frames)
        elif kind == "status":
            self.warnings = wire.status_warnings(response.status.message)

    def clip(self, fps: int, animator: str | None, address: str) -> MotionClip:
        """The take; the daemon's warnings re-raised as ``UserWarning``s and kept in ``metadata["warnings"]``."""
        header = self.header
        metadata: dict[str, Any] = {"animator": header.animator if header else animator, "daemon": address,
                                    "animator_version": header.animator_version if header else ""}
        if self.warnings:
            metadata["warnings"] = self.warnings
        for text in self.warnings:
            warnings.warn(text, UserWarning, stacklevel=3)
        return MotionClip.from_frames(fps, self.frames, metadata)


class StreamWatch:
    """What a live stream's responses said so far: its header, its final status and warnings, whether it ended
    with that status (shared by :class:`LiveStream` and the asyncio client's stream)."""

    def __init__(self) -> None:
        self.header: pb.StreamHeader | None = None
        self.status: pb.Status | None = None
        self.warnings: list[str] = []  # from the final status
        self.ended = False

    def see(self, response: pb.MotionResponse) -> None:
        kind = response.WhichOneof("kind")
        self.ended = kind == "status"
        if kind == "header":
            self.header = response.header
            _check_channels(response.header)
        elif kind == "status":
            self.status = response.status
            self.warnings = wire.status_warnings(response.status.message)
            for text in self.warnings:  # as animate() does: a transcript that did not fit, ...
                warnings.warn(text, UserWarning, stacklevel=3)


class WatchedStream:
    """What both clients' live streams show of their responses: ``header``, ``status`` and ``warnings``."""

    _watch: StreamWatch

    @property
    def header(self) -> pb.StreamHeader | None:
        return self._watch.header

    @property
    def status(self) -> pb.Status | None:
        return self._watch.status

    @property
    def warnings(self) -> list[str]:
        """Warnings of the final status (a transcript that did not fit, ...)."""
        return self._watch.warnings


class Connection:
    """What both clients hold (this module's :class:`Client`, :class:`facecast.aio.AsyncClient`): the address,
    the call timeout, a channel from ``_channels`` (``grpc`` or ``grpc.aio``), the bearer metadata, the stub."""

    _channels: Any = grpc

    def __init__(self, address: str = DEFAULT_ADDRESS, token: str | None = None,
                 root_certificates: bytes | None = None, timeout: float | None = None,
                 max_message_bytes: int = 64 * 1024 * 1024, certificate_chain: bytes | None = None,
                 private_key: bytes | None = None, load_balancing: str | None = None) -> None:
        self.address = address
        self.timeout = timeout
        options = channel_options(max_message_bytes, load_balancing)
        if root_certificates is not None:
            credentials = grpc.ssl_channel_credentials(root_certificates, private_key, certificate_chain)
            self._channel = self._channels.secure_channel(address, credentials, options)
        else:
            self._channel = self._channels.insecure_channel(address, options)
        self._metadata = bearer(token)
        self._stub = facecast_pb2_grpc.FacecastStub(self._channel)


class Client(Connection):
    """A connection to a facecast daemon. ``token`` sends a bearer token; ``root_certificates`` enables TLS;
    ``certificate_chain`` and ``private_key`` (PEM) present a client certificate, for a daemon that requires
    one (``--tls-client-ca``)."""

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Block until the daemon accepts connections, or raise :class:`ServerError`."""
        try:
            grpc.channel_ready_future(self._channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            raise ServerError("UNAVAILABLE", f"no facecast daemon at {self.address} after {timeout:g} s") from None

    def health(self, service: str = "") -> str:
        """The daemon's health status name, e.g. ``SERVING``."""
        stub = health_pb2_grpc.HealthStub(self._channel)
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=self.timeout or 5)
        except grpc.RpcError as e:
            raise _server_error(e, self.address) from None
        return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)

    def info(self) -> dict[str, Any]:
        """Version, animators, providers, fps options, limits and active sessions."""
        try:
            reply = self._stub.GetInfo(pb.GetInfoRequest(), timeout=self.timeout, metadata=self._metadata)
        except grpc.RpcError as e:
            raise _server_error(e, self.address) from None
        return _plain(reply)

    def create_avatar(self, image: str | os.PathLike[str] | bytes,
                      face_box: tuple[float, float, float, float] | None = None) -> pb.CreateAvatarResponse:
        """Fit a portrait on the daemon (or upload a saved ``.fcavatar``); the reply has ``avatar_id``."""
        data = read_input(image, "image")[0]
        is_avatar = isinstance(image, (str, os.PathLike)) and os.fspath(image).endswith(".fcavatar")
        request = pb.CreateAvatarRequest(avatar=data) if is_avatar else pb.CreateAvatarRequest(image=data)
        if face_box:
            request.face_box.CopyFrom(pb.FaceBox(x=face_box[0], y=face_box[1], width=face_box[2], height=face_box[3]))
        try:
            return self._stub.CreateAvatar(request, timeout=self.timeout, metadata=self._metadata)
        except grpc.RpcError as e:
            raise _server_error(e, self.address) from None

    def delete_avatar(self, avatar_id: str) -> None:
        try:
            self._stub.DeleteAvatar(pb.DeleteAvatarRequest(avatar_id=avatar_id), timeout=self.timeout,
                                    metadata=self._metadata)
        except grpc.RpcError as e:
            raise _server_error(e, self.address) from None

    def animate_responses(self, audio: str | os.PathLike[str] | bytes, animator: str | None = None,
                          fps: int = DEFAULT_FPS, controls: Controls | None = None, text: str | None = None,
                          language: str | None = None, echo_audio: bool = False,
                          texture: pb.TextureOptions | None = None,
                          **control_fields: Any) -> Iterator[pb.MotionResponse]:
        """The raw response stream of ``Animate`` for an audio file (path or encoded bytes); with
        ``texture=texture_options(avatar_id)`` rendered frames arrive after the motion frames they show."""
        request = animate_request(audio, animator, fps, controls, text, language, echo_audio, texture,
                                  control_fields)
        try:
            ended = False
            for response in self._stub.Animate(request, timeout=self.timeout, metadata=self._metadata):
                ended = response.WhichOneof("kind") == "status"
                yield response
        except grpc.RpcError as e:
            raise _server_error(e, self.address) from None
        if not ended:
            raise _cut_short(self.address)

    def animate(self, audio: str | os.PathLike[str] | bytes, animator: str | None = None, fps: int = DEFAULT_FPS,
                controls: Controls | None = None, text: str | None = None, language: str | None = None,
                progress: Callable[[float, float], None] | None = None, **control_fields: Any) -> MotionClip:
        """Animate a whole clip on the daemon and return the take. ``progress(frames_done, frames_total)`` rises
        through the whole work: the daemon's ``progress`` events (phone recognition before the first frame) fill
        the first part of it, as :func:`facecast.animators.base.split_progress` shares it out, the frames the rest;
        a callback with a ``stage(name)`` method also hears each stage's name (``hearing phones``, ``frames``).

        Warnings the daemon reports in the final status (a transcript that does not fit the audio, which then
        falls back to the audio alone) are re-raised here as ``UserWarning``s and kept, as a list of strings, in
        the take's ``metadata["warnings"]`` (absent when there were none)."""
        take = TakeBuilder(progress)
        for response in self.animate_responses(audio, animator, fps, controls, text, language, **control_fields):
            take.add(response)
        return take.clip(fps, animator, self.address)

    def stream(self, sample_rate: int = 16000, animator: str | None = None, fps: int = DEFAULT_FPS,
               controls: Controls | None = None, sample_format: str = "pcm16", echo_audio: bool = False,
               text: str | None = None, language: str | None = None, texture: pb.TextureOptions | None = None,
               **control_fields: Any) -> LiveStream:
        """Open a real-time ``Stream``: send PCM chunks as they are spoken and read frames as they come."""
        config = stream_config(sample_rate, animator, fps, controls, sample_format, echo_audio, text, language,
                               texture, control_fields)
        return LiveStream(self, config)


class LiveStream(WatchedStream):
    """One real-time session. Thread-safe to :meth:`send` from one thread while another reads :meth:`responses`."""

    _END = object()

    def __init__(self, client: Client, config: pb.StreamConfig) -> None:
        self._client = client
        self._requests: queue.Queue[Any] = queue.Queue()
        self._requests.put(pb.StreamRequest(config=config))
        self._call = client._stub.Stream(self._request_iterator(), timeout=client.timeout, metadata=client._metadata)
        self._closed = threading.Event()
        self._cancelled = False  # by this client (cancel()), not by the daemon or a proxy
        self._watch = StreamWatch()

    def _request_iterator(self) -> Iterator[pb.StreamRequest]:
        while True:
            item = self._requests.get()
            if item is self._END:
                return
            yield item

    def __enter__(self) -> LiveStream:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.end()
        else:
            self.cancel()

    def send(self, pcm: bytes | np.ndarray) -> None:
        """Queue one audio chunk (bytes in the configured format, or a float32 array)."""
        self._requests.put(pcm_request(pcm))

    def update(self, controls: Controls | None = None, **control_fields: Any) -> None:
        """Change controls mid-utterance (emotion, gaze, intensity, ...)."""
        self._requests.put(pb.StreamRequest(controls=_controls_message(controls, control_fields)))

    def end(self) -> None:
        """No more audio: the daemon flushes the last frames and closes with a status."""
        if not self._closed.is_set():
            self._closed.set()
            self._requests.put(pb.StreamRequest(end=pb.End()))
            self._requests.put(self._END)

    def cancel(self) -> None:
        self._closed.set()
        self._cancelled = True
        self._requests.put(self._END)
        self._call.cancel()

    def responses(self) -> Iterator[pb.MotionResponse]:
        """Every response as it arrives (header, frame batches, audio echoes, events, the final status)."""
        try:
            for response in self._call:
                self._watch.see(response)
                yield response
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.CANCELLED and self._cancelled:
                return
            raise _server_error(e, self._client.address) from None
        if not self._watch.ended:
            raise _cut_short(self._client.address)

    def frames(self) -> Iterator[MotionFrame]:
        """Only the motion frames, in order."""
        for response in self.responses():
            if response.WhichOneof("kind") == "frames":
                yield from wire.frames_from_batch(response.frames)


def stream_file_chunks(samples: np.ndarray, sample_rate: int, chunk_ms: float = 20.0) -> Iterable[bytes]:
    """Split float samples into PCM16 chunks of ``chunk_ms`` for :meth:`LiveStream.send`."""
    step = max(1, int(sample_rate * chunk_ms / 1000))
    pcm = float_to_pcm16(samples)
    for start in range(0, len(pcm), step):
        yield pcm[start:start + step].tobytes()


def _cut_short(address: str) -> ServerError:
    """A call whose responses stopped without the final Status every daemon call ends with: a proxy closed it
    cleanly when the replica behind it went away (Ray Serve's HAProxy ingress does). Retryable, as UNAVAILABLE."""
    return ServerError("UNAVAILABLE", f"the call to {address} ended without its final status (the daemon or its "
                                      "replica behind a proxy went away mid-call); its results are incomplete")


def _check_channels(header: pb.StreamHeader) -> None:
    if tuple(header.channel_names) != CHANNELS:
        raise ServerError("FAILED_PRECONDITION", "the daemon speaks a different motion contract than this client")
