"""Building and running the grpc.aio server: options, auth, health, reflection, signals."""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import signal
import sys
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from facecast.proto import facecast_pb2, facecast_pb2_grpc
from facecast.server import a2f
from facecast.server.calls import drain
from facecast.server.servicer import Facecast

log = logging.getLogger("facecast.server")
SERVICE_NAME = facecast_pb2.DESCRIPTOR.services_by_name["Facecast"].full_name
DENY_DRAIN_SECONDS = 1.0  # a refused streaming client's messages are read this long before the refusal
OPEN_METHODS = ("/grpc.health.v1.Health/", "/grpc.reflection.")


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 50051
    token: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    max_message_bytes: int = 64 * 1024 * 1024
    max_sessions: int = 64
    max_audio_seconds: float = 600.0
    max_stream_seconds: float = 3600.0
    max_batch: int = 64
    max_avatars: int = 16
    default_animator: str = ""
    grace_seconds: float = 5.0
    a2f_compat: bool = False  # also serve NVIDIA's Audio2Face-3D API (server/a2f.py) on a2f_port
    a2f_port: int = a2f.DEFAULT_PORT


class BearerTokenInterceptor(grpc.aio.ServerInterceptor):
    """Requires ``authorization: Bearer <token>`` on every call except health checks and reflection."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    async def intercept_service(self, continuation, handler_call_details):
        handler = await continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(OPEN_METHODS):
            return handler
        metadata = dict(handler_call_details.invocation_metadata or ())
        if hmac.compare_digest(str(metadata.get("authorization", "")).encode(), self._expected):
            return handler
        return _deny(handler)


def _deny(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    async def abort(request, context):
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")

    async def abort_stream(request, context):
        await abort(request, context)
        yield  # pragma: no cover - makes this an async generator like the handler it replaces

    async def drain_and_abort(requests, context):
        await drain(aiter(requests), DENY_DRAIN_SECONDS)
        await abort(requests, context)

    async def drain_and_abort_stream(requests, context):
        await drain_and_abort(requests, context)
        yield  # pragma: no cover

    kwargs = {"request_deserializer": handler.request_deserializer, "response_serializer": handler.response_serializer}
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(drain_and_abort_stream, **kwargs)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(drain_and_abort, **kwargs)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(abort_stream, **kwargs)
    return grpc.unary_unary_rpc_method_handler(abort, **kwargs)


class RunningServer:
    """A started daemon: its bound port, health servicer and a graceful :meth:`stop`; with ``a2f_compat``
    also the Audio2Face-3D server (same process and schedulers, its own port and health)."""

    def __init__(self, server: grpc.aio.Server, port: int, health_servicer, servicer: Facecast,
                 config: ServerConfig, a2f_server: grpc.aio.Server | None = None, a2f_port: int | None = None,
                 a2f_health=None) -> None:
        self.server, self.port, self.health = server, port, health_servicer
        self.servicer, self.config = servicer, config
        self.a2f_server, self.a2f_port, self.a2f_health = a2f_server, a2f_port, a2f_health

    async def stop(self) -> None:
        listening = [(self.server, self.health)] + ([(self.a2f_server, self.a2f_health)] if self.a2f_server else [])
        await asyncio.gather(*(health_servicer.enter_graceful_shutdown() for _, health_servicer in listening))
        await asyncio.gather(*(server.stop(self.config.grace_seconds) for server, _ in listening))
        await self.servicer.schedulers.close()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


async def start_server(config: ServerConfig) -> RunningServer:
    """Start the daemon on ``config.host:config.port`` (port 0 picks a free one) and mark it SERVING."""
    servicer = Facecast(config)
    server, port, health_servicer = await _serve(
        config, config.port, SERVICE_NAME, lambda s: facecast_pb2_grpc.add_FacecastServicer_to_server(servicer, s))
    if not config.a2f_compat:
        return RunningServer(server, port, health_servicer, servicer, config)
    try:
        a2f_server, a2f_port, a2f_health = await _serve(
            config, config.a2f_port, a2f.SERVICE_NAME, lambda s: a2f.add_to_server(servicer, s))
    except OSError:
        await server.stop(None)
        raise
    return RunningServer(server, port, health_servicer, servicer, config, a2f_server, a2f_port, a2f_health)


async def _serve(config: ServerConfig, port: int, service_name: str, add_service) -> tuple[grpc.aio.Server, int, Any]:
    """Start one gRPC server with the daemon's options, auth, health and reflection; ``add_service(server)``
    registers the service called ``service_name``."""
    options = [
        ("grpc.max_receive_message_length", config.max_message_bytes),
        ("grpc.max_send_message_length", config.max_message_bytes),
        ("grpc.so_reuseport", 0),
    ]
    interceptors = [BearerTokenInterceptor(config.token)] if config.token else []
    server = grpc.aio.server(options=options, interceptors=interceptors)
    add_service(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection((service_name, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    address = f"{config.host}:{port}"
    if config.tls_cert and config.tls_key:
        with open(config.tls_key, "rb") as key, open(config.tls_cert, "rb") as cert:
            credentials = grpc.ssl_server_credentials([(key.read(), cert.read())])
        port = server.add_secure_port(address, credentials)
    else:
        port = server.add_insecure_port(address)
    if not port:
        raise OSError(f"cannot listen on {address} (in use or not an address of this machine)")
    await server.start()
    for name in ("", service_name):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server, port, health_servicer


def run_server(config: ServerConfig, ready_message: bool = True) -> None:
    """Run the daemon until SIGTERM or SIGINT, then shut down gracefully (in-flight calls get the grace period)."""
    if not is_loopback(config.host) and not config.token:
        log.warning("listening on %s without a bearer token: anyone who can reach it may use it", config.host)

    async def main() -> None:
        running = await start_server(config)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if ready_message:
            a2f_note = f" (a2f-compat on {config.host}:{running.a2f_port})" if running.a2f_server else ""
            print(f"facecast serving on {config.host}:{running.port}{a2f_note}", flush=True)
        await stop.wait()
        print("facecast: shutting down", file=sys.stderr, flush=True)
        await running.stop()

    asyncio.run(main())
