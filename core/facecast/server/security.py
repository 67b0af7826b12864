"""Who may call the daemon: the bearer token (refused calls are never read in full), TLS and mutual TLS
credentials checked at start-up, and the rule that a daemon reachable from the network needs a token or client
certificates unless ``--insecure`` says otherwise."""

from __future__ import annotations

import hmac
import ipaddress
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from facecast.errors import ConfigError
from facecast.server.calls import drain

OPEN_METHODS = ("/grpc.health.v1.Health/", "/grpc.reflection.")
DENY_DRAIN_SECONDS = 1.0  # a refused streaming client's messages are read this long before the refusal ...
DENY_DRAIN_BYTES = 1 << 20  # ... or until this much has come (one message may be up to --max-message-mb)
MAX_DRAINING = 2  # refused streams drained at once; more are refused at once (each may hold one message)
_draining = 0


class GuardInterceptor(grpc.aio.ServerInterceptor):
    """An interceptor that may replace the handler of every call except health checks and reflection
    (:data:`OPEN_METHODS`); subclasses say how in :meth:`guard`."""

    async def intercept_service(
            self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]],
            handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        if handler is None or handler_call_details.method.startswith(OPEN_METHODS):
            return handler
        return self.guard(handler, handler_call_details)

    def guard(self, handler: grpc.RpcMethodHandler, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        raise NotImplementedError


class BearerTokenInterceptor(GuardInterceptor):
    """Requires ``authorization: Bearer <token>`` on every call except health checks and reflection."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    def guard(self, handler: grpc.RpcMethodHandler, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        metadata = dict(details.invocation_metadata or ())
        if hmac.compare_digest(str(metadata.get("authorization", "")).encode(), self._expected):
            return handler
        return deny(handler, grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")


def deny(handler: grpc.RpcMethodHandler, code: grpc.StatusCode, message: str) -> grpc.RpcMethodHandler:
    """A handler that refuses the call with ``code`` without parsing its messages. Unary requests are not read
    at all (the handler is declared request-streaming, so grpc does not wait for the message); a streaming
    client's messages are read, unparsed, for up to :data:`DENY_DRAIN_SECONDS` or :data:`DENY_DRAIN_BYTES`, since
    some grpc clients report INTERNAL instead of the refusal when a call ends while they are still sending; at
    most :data:`MAX_DRAINING` refused streams are drained at a time."""

    async def refuse(requests: Any, context: grpc.aio.ServicerContext) -> None:
        global _draining
        if handler.request_streaming and _draining < MAX_DRAINING:
            _draining += 1
            try:
                await drain(_bounded(aiter(requests)), DENY_DRAIN_SECONDS)
            finally:
                _draining -= 1
        await context.abort(code, message)

    async def refuse_stream(requests: Any, context: grpc.aio.ServicerContext) -> Any:
        await refuse(requests, context)
        yield  # pragma: no cover - makes this an async generator like the handler it replaces

    kwargs = {"request_deserializer": len, "response_serializer": handler.response_serializer}
    if handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(refuse_stream, **kwargs)
    return grpc.stream_unary_rpc_method_handler(refuse, **kwargs)


async def _bounded(sizes: Any) -> Any:
    """The message sizes of a refused stream, until :data:`DENY_DRAIN_BYTES` have come."""
    total = 0
    async for size in sizes:
        total += size
        if total > DENY_DRAIN_BYTES:
            return
        yield size


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, token: str | None, client_ca: str | None, insecure: bool) -> None:
    """A daemon bound beyond loopback must authenticate its clients (a token or client certificates);
    ``insecure`` is the explicit opt-out. TLS alone encrypts but lets anyone in, so it is not enough."""
    if is_loopback(host) or token or client_ca or insecure:
        return
    raise ConfigError(f"refusing to listen on {host} without authentication: set a token (--token-file or "
                      "$FACECAST_TOKEN), or client certificates (--tls-client-ca), or pass --insecure")


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise ConfigError(f"cannot read the {what} {path}: {e.strerror}") from None


def server_credentials(cert: str, key: str, client_ca: str | None = None) -> grpc.ServerCredentials:
    """TLS credentials from PEM files, checked now (a wrong file is a one-line error at start-up, not a
    failed handshake later); with ``client_ca`` clients must present a certificate it signed."""
    chain, private_key = _read(cert, "TLS certificate"), _read(key, "TLS key")
    check = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        check.load_cert_chain(cert, key)
    except ssl.SSLError as e:
        raise ConfigError(f"--tls-cert {cert} and --tls-key {key} are not a PEM certificate chain and its "
                          f"private key ({e.reason or e})") from None
    roots = None
    if client_ca:
        roots = _read(client_ca, "client CA certificates")
        try:
            check.load_verify_locations(cafile=client_ca)
        except ssl.SSLError as e:
            raise ConfigError(f"--tls-client-ca {client_ca} is not PEM CA certificates ({e.reason or e})") from None
    return grpc.ssl_server_credentials([(private_key, chain)], root_certificates=roots,
                                       require_client_auth=client_ca is not None)


def client_identity(context: grpc.aio.ServicerContext) -> str:
    """Who is calling, for per-client limits: the common name of a verified client certificate, else the
    peer's address without its port."""
    with_cert = context.auth_context().get("x509_common_name") if hasattr(context, "auth_context") else None
    if with_cert:
        return "cn:" + with_cert[0].decode("utf-8", "replace")
    peer = context.peer() or ""
    address = peer.split(":", 1)[1] if ":" in peer else peer  # "ipv4:1.2.3.4:555", "ipv6:[::1]:555"
    return address.rsplit(":", 1)[0] if address.count(":") and not address.startswith("/") else address
