"""The facecast.v1.Facecast servicer: each method hands its request to the module that does the work
(:mod:`.clips`, :mod:`.stream`, :mod:`.avatars`); errors become statuses in :func:`.calls.handles_errors`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc

from facecast._version import __version__
from facecast.animators import DEFAULT_ANIMATOR, DEFAULT_LIVE_ANIMATOR, animator_names, describe_animator
from facecast.audio import PCM_RATES
from facecast.controls import EMOTIONS
from facecast.motion import CHANNELS, FPS_OPTIONS
from facecast.proto import facecast_pb2 as pb
from facecast.proto import facecast_pb2_grpc
from facecast.runtime import onnx_providers
from facecast.server import clips, stream
from facecast.server.calls import Watchdog, handles_errors
from facecast.server.state import DaemonState

Responses = AsyncIterator[pb.MotionResponse]


class Facecast(facecast_pb2_grpc.FacecastServicer):
    def __init__(self, state: DaemonState) -> None:
        self.state = state

    async def GetInfo(self, request: pb.GetInfoRequest, context: grpc.aio.ServicerContext) -> pb.Info:
        config = self.state.config
        return pb.Info(
            version=__version__,
            animators=[pb.AnimatorInfo(**describe_animator(name)) for name in animator_names()],
            default_animator=config.default_animator or DEFAULT_ANIMATOR,
            default_live_animator=config.default_animator or DEFAULT_LIVE_ANIMATOR,
            providers=onnx_providers(),
            fps_options=FPS_OPTIONS,
            limits=pb.Limits(max_message_bytes=config.max_message_bytes, max_sessions=config.max_sessions,
                             max_audio_seconds=config.max_audio_seconds, sample_rates=PCM_RATES),
            active_sessions=self.state.sessions.active,
            emotions=EMOTIONS,
            channel_names=CHANNELS,
            avatars=len(self.state.avatars),
        )

    @handles_errors
    async def CreateAvatar(self, request: pb.CreateAvatarRequest,
                           context: grpc.aio.ServicerContext) -> pb.CreateAvatarResponse:
        avatar_id, avatar = await asyncio.get_running_loop().run_in_executor(
            self.state.clip_render, self.state.avatars.create, request)
        width, height = avatar.fit.image_size
        return pb.CreateAvatarResponse(avatar_id=avatar_id, width=width, height=height,
                                       landmarks=avatar.fit.landmarks.reshape(-1), score=avatar.fit.score)

    @handles_errors
    async def DeleteAvatar(self, request: pb.DeleteAvatarRequest,
                           context: grpc.aio.ServicerContext) -> pb.DeleteAvatarResponse:
        self.state.avatars.delete(request.avatar_id)
        return pb.DeleteAvatarResponse()

    @handles_errors
    async def Animate(self, request: pb.AnimateRequest, context: grpc.aio.ServicerContext) -> Responses:
        # a client that stops reading its responses frees its clip worker as a stalled stream frees its session
        watchdog = Watchdog(self.state.stall_seconds, method="Animate")
        async for response in watchdog.guard(clips.animate(self.state, request, context.time_remaining())):
            yield response

    @handles_errors
    async def Stream(self, request_iterator: AsyncIterator[pb.StreamRequest],
                     context: grpc.aio.ServicerContext) -> Responses:
        async for response in stream.stream(self.state, request_iterator):
            yield response
