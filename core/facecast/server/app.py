"""Building and running the grpc.aio server: options, auth, health, reflection, signals."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import signal
import socket
import sys
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from facecast.errors import ConfigError
from facecast.proto import facecast_pb2, facecast_pb2_grpc
from facecast.server import a2f
from facecast.server.intake import MalformedRequestInterceptor, RateLimiter, RateLimitInterceptor
from facecast.server.security import BearerTokenInterceptor, check_exposure, is_loopback, server_credentials
from facecast.server.servicer import Facecast

log = logging.getLogger("facecast.server")
SERVICE_NAME = facecast_pb2.DESCRIPTOR.services_by_name["Facecast"].full_name


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 50051
    token: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_client_ca: str | None = None  # PEM CA certificates: clients must present a certificate they signed
    insecure: bool = False  # allow a non-loopback bind without a token or client certificates
    rate_limit: float = 0.0  # calls per second per client (0: no limit); health and reflection not counted
    rate_burst: int = 20
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


def interceptors(config: ServerConfig) -> list[grpc.aio.ServerInterceptor]:
    """Outermost first: per-client rate limits (so token guessing is limited too), the bearer token, then
    malformed requests to INVALID_ARGUMENT."""
    chain: list[grpc.aio.ServerInterceptor] = []
    if config.rate_limit > 0:
        chain.append(RateLimitInterceptor(RateLimiter(config.rate_limit, config.rate_burst)))
    if config.token:
        chain.append(BearerTokenInterceptor(config.token))
    return [*chain, MalformedRequestInterceptor()]


def listen_address(host: str, port: int) -> str:
    """``host:port`` as grpc reads it: an IPv6 address goes in brackets."""
    bare = host.strip("[]")
    try:
        if ipaddress.ip_address(bare).version == 6:
            return f"[{bare}]:{port}"
    except ValueError:
        pass
    return f"{host}:{port}"


def check_bindable(host: str, port: int, address: str) -> None:
    """:class:`ConfigError` naming why ``host:port`` cannot be listened on (in use, not an address here), found
    with a plain socket first so the user gets one line instead of grpc's log and a RuntimeError."""
    try:
        family, kind, proto, _, where = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM,
                                                           flags=socket.AI_PASSIVE)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(where)
    except OSError as e:
        raise ConfigError(f"cannot listen on {address}: {e.strerror or e}") from None


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
    server = grpc.aio.server(options=options, interceptors=interceptors(config))
    add_service(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection((service_name, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    address = listen_address(config.host, port)
    check_bindable(config.host, port, address)
    try:
        if config.tls_cert and config.tls_key:
            port = server.add_secure_port(address, server_credentials(config.tls_cert, config.tls_key,
                                                                      config.tls_client_ca))
        else:
            port = server.add_insecure_port(address)
    except RuntimeError:  # grpc's "Failed to bind"
        port = 0
    if not port:
        raise ConfigError(f"cannot listen on {address} (in use or not an address of this machine)")
    await server.start()
    for name in ("", service_name):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server, port, health_servicer


def run_server(config: ServerConfig, ready_message: bool = True) -> None:
    """Run the daemon until SIGTERM or SIGINT, then shut down gracefully (in-flight calls get the grace period)."""
    check_exposure(config.host, config.token, config.tls_client_ca, config.insecure)
    if not is_loopback(config.host) and not config.token and not config.tls_client_ca:
        log.warning("listening on %s without authentication (--insecure): anyone who can reach it may use it",
                    config.host)

    async def main() -> None:
        running = await start_server(config)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        if ready_message:
            a2f_note = f" (a2f-compat on {config.host}:{running.a2f_port})" if running.a2f_server else ""
            print(f"facecast serving on {listen_address(config.host, running.port)}{a2f_note}", flush=True)
        await stop.wait()
        print("facecast: shutting down", file=sys.stderr, flush=True)
        await running.stop()

    asyncio.run(main())
