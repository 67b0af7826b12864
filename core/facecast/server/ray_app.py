"""facecast behind Ray Serve's gRPC ingress (``pip install 'facecast[ray]'``; docs/DEPLOY.md).

Each Serve replica runs a whole facecast daemon (validation, admission, schedulers, clip workers) on a loopback
port of its own and relays every call Serve's proxy routes to it: ``GetInfo``, ``CreateAvatar``,
``DeleteAvatar``, ``Animate`` (server streaming), ``Stream`` (bidirectional) and the standard health ``Check``.
Statuses and messages of the daemon come back unchanged (``INVALID_ARGUMENT``, ``RESOURCE_EXHAUSTED`` ...), and
the client's ``authorization`` header is relayed, so a replica started with a token checks it exactly as
``facecast serve`` does. Portraits live in ``avatar_dir``, a folder every replica mounts, so any replica renders
an avatar another one created.

``app = build_app({...})`` (or ``import_path: facecast.server.ray_app:build_app`` in a Serve config, with the
daemon's settings as ``args``): see ``deploy/ray_serve/serve.yaml``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import fields
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from ray import serve

from facecast.errors import ConfigError
from facecast.proto import facecast_pb2 as pb
from facecast.proto import facecast_pb2_grpc
from facecast.server.app import RunningServer, start_server
from facecast.server.config import ServerConfig, read_token

# what Serve's proxy must expose (Serve config ``grpc_options.grpc_servicer_functions``)
SERVICER_FUNCTIONS = ("facecast.proto.facecast_pb2_grpc.add_FacecastServicer_to_server",
                      "grpc_health.v1.health_pb2_grpc.add_HealthServicer_to_server")
RELAYED_METADATA = ("authorization",)
# settings a replica decides itself: its daemon listens on a free loopback port, never beyond the machine
REPLICA_OWNED = ("host", "port", "tls_cert", "tls_key", "tls_client_ca", "insecure", "a2f_compat", "metrics_port")
DEFAULT_REPLICAS = 2

Reply = TypeVar("Reply")


class ReplicaCallError(Exception):
    """The daemon behind this replica answered with an error status (already set on Serve's gRPC context)."""


def replica_config(settings: dict[str, Any]) -> ServerConfig:
    """The daemon settings of one replica: ``settings`` are :class:`ServerConfig` fields (``avatar_dir``,
    ``clip_workers``, ``token`` ...); the address is the replica's own (127.0.0.1, a free port). A token may also
    ``token_file`` (or ``$FACECAST_TOKEN`` in the replicas' environment) makes every relayed call need the token:
    Serve's gRPC proxy listens on every interface and checks nothing itself."""
    settings = dict(settings)
    token_file = settings.pop("token_file", None)
    known = {f.name for f in fields(ServerConfig)}
    unknown = sorted(set(settings) - known)
    if unknown:
        raise ConfigError(f"unknown facecast setting(s) for the Ray replicas: {', '.join(unknown)}")
    owned = sorted(set(settings) & set(REPLICA_OWNED))
    if owned:
        raise ConfigError(f"{', '.join(owned)}: set on Serve's gRPC proxy, not on the replicas' daemons")
    if "token" in settings:
        raise ConfigError("token: give token_file or $FACECAST_TOKEN (a token in the Serve config is readable by "
                          "anyone who can read the config or the Ray dashboard)")
    token = read_token(token_file, None, os.environ.get("FACECAST_TOKEN"))
    return ServerConfig(**settings, token=token, host="127.0.0.1", port=0)


class FacecastReplica:
    """One Serve replica: a facecast daemon on a loopback port of its own, and a relay to it of every call Serve's
    proxy routes here. Methods are named after the RPCs, as Serve's gRPC proxy calls them."""

    async def __init__(self, settings: dict[str, Any]) -> None:  # type: ignore[misc]  # Ray actors allow it
        self.config = replica_config(settings)
        self.daemon: RunningServer = await start_server(self.config)
        limit = self.config.max_message_bytes
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{self.daemon.port}", options=[
            ("grpc.max_receive_message_length", limit), ("grpc.max_send_message_length", limit)])
        self.stub = facecast_pb2_grpc.FacecastStub(self.channel)
        self.health = health_pb2_grpc.HealthStub(self.channel)

    async def GetInfo(self, request: pb.GetInfoRequest, grpc_context: Any) -> pb.Info:
        return await _unary(self.stub.GetInfo, request, grpc_context)

    async def CreateAvatar(self, request: pb.CreateAvatarRequest, grpc_context: Any) -> pb.CreateAvatarResponse:
        return await _unary(self.stub.CreateAvatar, request, grpc_context)

    async def DeleteAvatar(self, request: pb.DeleteAvatarRequest, grpc_context: Any) -> pb.DeleteAvatarResponse:
        return await _unary(self.stub.DeleteAvatar, request, grpc_context)

    async def Check(self, request: health_pb2.HealthCheckRequest,
                    grpc_context: Any) -> health_pb2.HealthCheckResponse:
        return await _unary(self.health.Check, request, grpc_context)

    async def Animate(self, request: pb.AnimateRequest, grpc_context: Any) -> AsyncIterator[pb.MotionResponse]:
        async for response in _relay(self.stub.Animate(request, metadata=_metadata(grpc_context)), grpc_context):
            yield response

    async def Stream(self, requests: AsyncIterator[pb.StreamRequest],
                     grpc_context: Any) -> AsyncIterator[pb.MotionResponse]:
        async for response in _relay(self.stub.Stream(_forward(requests), metadata=_metadata(grpc_context)),
                                     grpc_context):
            yield response

    async def check_health(self) -> None:
        """Serve's periodic health check: a daemon that is not SERVING (a model failed to load) gets its replica
        replaced."""
        reply = await self.health.Check(health_pb2.HealthCheckRequest(), timeout=5)
        if reply.status != health_pb2.HealthCheckResponse.SERVING:
            raise RuntimeError("this replica's facecast daemon is not SERVING (see its log: a model failed to load)")

    async def __del__(self) -> None:
        """Serve stops the replica: drain its daemon (streams end with a final status) within the grace period."""
        await self.channel.close()
        await self.daemon.stop()


def _metadata(grpc_context: Any) -> tuple[tuple[str, str], ...]:
    return tuple((key, value) for key, value in grpc_context.invocation_metadata() if key in RELAYED_METADATA)


def _fail(error: grpc.aio.AioRpcError, grpc_context: Any) -> ReplicaCallError:
    grpc_context.set_code(error.code())
    grpc_context.set_details(error.details() or "")
    return ReplicaCallError(error.details() or error.code().name)


async def _unary(method: Callable[..., Awaitable[Reply]], request: Any, grpc_context: Any) -> Reply:
    try:
        return await method(request, metadata=_metadata(grpc_context))
    except grpc.aio.AioRpcError as e:
        raise _fail(e, grpc_context) from None


async def _relay(call: Any, grpc_context: Any) -> AsyncIterator[pb.MotionResponse]:
    try:
        async for response in call:
            yield response
    except grpc.aio.AioRpcError as e:
        raise _fail(e, grpc_context) from None
    finally:
        call.cancel()  # the client left (Serve cancels this generator): free the daemon's session at once


async def _forward(requests: AsyncIterator[pb.StreamRequest]) -> AsyncIterator[pb.StreamRequest]:
    async for request in requests:
        yield request


def build_app(args: dict[str, Any]) -> Any:
    """The Serve application: ``args`` holds ``num_replicas`` (default 2), ``num_cpus`` per replica (default 1)
    and the daemon settings (:func:`replica_config`), e.g. ``{"avatar_dir": "/avatars", "clip_workers": 1}``."""
    settings = dict(args)
    replicas = int(settings.pop("num_replicas", DEFAULT_REPLICAS))
    cpus = float(settings.pop("num_cpus", 1))
    replica_config(settings)  # a wrong setting fails here, before any replica starts
    deployment: Any = serve.deployment(
        FacecastReplica, name="facecast", num_replicas=replicas,
        # admission is each daemon's own (RESOURCE_EXHAUSTED with its reason): let Serve pass every call on
        max_ongoing_requests=ServerConfig().max_sessions * 2,
        ray_actor_options={"num_cpus": cpus})
    return deployment.bind(settings)
