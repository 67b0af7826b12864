"""Building and running the grpc.aio server: options, auth, health, reflection, signals."""

from __future__ import annotations

import asyncio
import importlib.machinery
import ipaddress
import logging
import signal
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from facecast.errors import ConfigError
from facecast.proto import facecast_pb2, facecast_pb2_grpc
from facecast.server import a2f, metrics
from facecast.server.config import ServerConfig
from facecast.server.intake import MalformedRequestInterceptor, RateLimiter, RateLimitInterceptor
from facecast.server.security import BearerTokenInterceptor, check_exposure, is_loopback, server_credentials
from facecast.server.servicer import Facecast
from facecast.server.state import DaemonState

log = logging.getLogger("facecast.server")
SERVICE_NAME = facecast_pb2.DESCRIPTOR.services_by_name["Facecast"].full_name
# On SIGTERM health says NOT_SERVING this long (capped at a fifth of the grace period) before streams are ended,
# so that load balancers and health checks see it while the daemon still answers.
DRAIN_NOTICE_SECONDS = 1.0


class RunningServer:
    """A started daemon: its bound port, health servicer and a graceful :meth:`stop`; with ``a2f_compat``
    also the Audio2Face-3D server (same process and schedulers, its own port and health); with ``metrics_port``
    the Prometheus listener."""

    def __init__(self, server: grpc.aio.Server, port: int, health_servicer: Any, state: DaemonState,
                 config: ServerConfig) -> None:
        self.server, self.port, self.health = server, port, health_servicer
        self.state, self.config = state, config
        self.a2f_server: grpc.aio.Server | None = None
        self.a2f_port: int | None = None
        self.a2f_health: Any = None
        self.metrics_server: asyncio.AbstractServer | None = None
        self.metrics_port: int | None = None

    def _listening(self) -> list[tuple[grpc.aio.Server, Any, str]]:
        main = [(self.server, self.health, SERVICE_NAME)]
        return main + ([(self.a2f_server, self.a2f_health, a2f.SERVICE_NAME)] if self.a2f_server else [])

    async def not_serving(self) -> None:
        """Health NOT_SERVING on every listener (a model failed to load); calls are still answered."""
        for _, health_servicer, name in self._listening():
            for service in ("", name):
                await health_servicer.set(service, health_pb2.HealthCheckResponse.NOT_SERVING)

    async def stop(self) -> None:
        """Drain: health NOT_SERVING first, new calls refused UNAVAILABLE; after a short notice every live
        stream is flushed and ends with a final status; calls still running get the rest of the grace period."""
        started = time.monotonic()
        grace = self.config.grace_seconds
        self.state.draining = True
        listening = self._listening()
        await asyncio.gather(*(health_servicer.enter_graceful_shutdown() for _, health_servicer, _ in listening))
        log.info("draining", extra={"event": "drain", "live": self.state.sessions.count("live"),
                                    "clips": self.state.sessions.count("clip")})
        await asyncio.sleep(min(DRAIN_NOTICE_SECONDS, grace / 5))
        self.state.drain()
        left = max(0.0, grace - (time.monotonic() - started))
        await asyncio.gather(*(server.stop(left) for server, _, _ in listening))
        if self.metrics_server:
            self.metrics_server.close()
        await self.state.close()


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
    """Start the daemon on ``config.host:config.port`` (port 0 picks a free one) and mark it SERVING; the model
    check runs in the background and turns health NOT_SERVING if a model fails to load."""
    state = DaemonState(config)
    servicer = Facecast(state)
    server, port, health_servicer = await _serve(
        config, config.port, SERVICE_NAME, lambda s: facecast_pb2_grpc.add_FacecastServicer_to_server(servicer, s))
    running = RunningServer(server, port, health_servicer, state, config)
    try:
        if config.a2f_compat:
            running.a2f_server, running.a2f_port, running.a2f_health = await _serve(
                config, config.a2f_port, a2f.SERVICE_NAME, lambda s: a2f.add_to_server(state, s))
        if config.metrics_port is not None:
            running.metrics_server, running.metrics_port = await metrics.serve_metrics(config.host,
                                                                                        config.metrics_port)
    except (OSError, ConfigError):
        await server.stop(None)
        if running.a2f_server:
            await running.a2f_server.stop(None)
        raise
    loop = asyncio.get_running_loop()
    state.on_model_failure = lambda: loop.call_soon_threadsafe(lambda: loop.create_task(running.not_serving()))
    state.start(loop)
    loop.run_in_executor(None, state.check_models)
    loop.run_in_executor(None, state.clips.start)
    return running


async def _serve(config: ServerConfig, port: int, service_name: str,
                 add_service: Callable[[grpc.aio.Server], None]) -> tuple[grpc.aio.Server, int, Any]:
    """Start one gRPC server with the daemon's options, auth, health and reflection; ``add_service(server)``
    registers the service called ``service_name``."""
    options = [
        ("grpc.max_receive_message_length", config.max_message_bytes),
        ("grpc.max_send_message_length", config.max_message_bytes),
        ("grpc.so_reuseport", 0),
        # find clients that vanished without closing (a pulled cable, a killed VM) on idle connections
        ("grpc.keepalive_time_ms", int(config.keepalive_seconds * 1000)),
        ("grpc.keepalive_timeout_ms", int(config.keepalive_seconds * 500)),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", 5000),
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


def _main_is_not_rerun() -> None:
    """The clip and flush workers start by preparing the parent's ``__main__``; the ``facecast`` console script
    pip writes has no ``if __name__ == "__main__"`` guard, so each worker would run a whole daemon of its own.
    Name the main module ``facecast.__main__``, which multiprocessing never re-runs (``python -m facecast``)."""
    main = sys.modules.get("__main__")
    if main is not None and getattr(main, "__spec__", None) is None:
        main.__spec__ = importlib.machinery.ModuleSpec("facecast.__main__", None)


def run_server(config: ServerConfig, ready_message: bool = True) -> None:
    """Run the daemon until SIGTERM or SIGINT, then shut down gracefully (in-flight calls get the grace period)."""
    _main_is_not_rerun()
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
        if ready_message and running.metrics_port is not None:
            print(f"facecast metrics on http://{listen_address(config.host, running.metrics_port)}/metrics", flush=True)
        if ready_message:
            a2f_note = f" (a2f-compat on {config.host}:{running.a2f_port})" if running.a2f_server else ""
            print(f"facecast serving on {listen_address(config.host, running.port)}{a2f_note}", flush=True)
        await stop.wait()
        print("facecast: shutting down", file=sys.stderr, flush=True)
        await running.stop()

    asyncio.run(main())
