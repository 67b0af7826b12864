"""The facecast.v1.Facecast servicer: validates requests, opens sessions and moves frames; no animation logic."""

from __future__ import annotations

import asyncio
import functools
import math
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import numpy as np

from facecast import wire
from facecast._version import __version__
from facecast.animators import DEFAULT_ANIMATOR, DEFAULT_LIVE_ANIMATOR, animator_names, get_animator
from facecast.animators.base import Animator
from facecast.audio import MODEL_RATE, PCM_RATES, StreamResampler, from_pcm, load_audio, pcm_samples
from facecast.controls import EMOTIONS
from facecast.errors import FacecastError, InvalidInput
from facecast.motion import CHANNELS, FPS_OPTIONS, MotionFrame
from facecast.proto import facecast_pb2 as pb
from facecast.proto import facecast_pb2_grpc
from facecast.runtime import onnx_providers
from facecast.server.avatars import AvatarStore, TextureStream
from facecast.server.scheduler import Schedulers
from facecast.server.sessions import SessionLimitReached, SessionRegistry
from facecast.settle import TakeEnd

Responses = AsyncIterator[pb.MotionResponse]
ANIMATE_CHUNK_SECONDS = 2.0  # offline work is cut so live streams interleave with it
MAX_STREAM_CHUNK_SECONDS = 10.0


def handles_errors(method):
    """Map the errors a request can cause to gRPC statuses with their message; the daemon carries on."""

    @functools.wraps(method)
    async def wrapper(self, request, context: grpc.aio.ServicerContext):
        try:
            async for response in method(self, request, context):
                yield response
        except FacecastError as e:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        except SessionLimitReached as e:
            await context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, str(e))

    return wrapper


class Facecast(facecast_pb2_grpc.FacecastServicer):
    def __init__(self, config: Any) -> None:
        self.config = config
        self.sessions = SessionRegistry(config.max_sessions)
        self.schedulers = Schedulers(config.max_batch)
        self.avatars = AvatarStore(config.max_avatars)
        self.render_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="facecast-render")

    async def GetInfo(self, request: pb.GetInfoRequest, context: grpc.aio.ServicerContext) -> pb.Info:
        animators = [get_animator(name) for name in animator_names()]
        return pb.Info(
            version=__version__,
            animators=[pb.AnimatorInfo(**a.describe()) for a in animators],
            default_animator=self.config.default_animator or DEFAULT_ANIMATOR,
            default_live_animator=self.config.default_animator or DEFAULT_LIVE_ANIMATOR,
            providers=onnx_providers(),
            fps_options=FPS_OPTIONS,
            limits=pb.Limits(max_message_bytes=self.config.max_message_bytes, max_sessions=self.config.max_sessions,
                             max_audio_seconds=self.config.max_audio_seconds, sample_rates=PCM_RATES),
            active_sessions=self.sessions.active,
            emotions=EMOTIONS,
            channel_names=CHANNELS,
            avatars=len(self.avatars),
        )

    async def CreateAvatar(self, request: pb.CreateAvatarRequest,
                           context: grpc.aio.ServicerContext) -> pb.CreateAvatarResponse:
        try:
            avatar_id, avatar = await asyncio.get_running_loop().run_in_executor(
                self.render_executor, self.avatars.create, request)
        except FacecastError as e:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        width, height = avatar.fit.image_size
        return pb.CreateAvatarResponse(avatar_id=avatar_id, width=width, height=height,
                                       landmarks=avatar.fit.landmarks.reshape(-1), score=avatar.fit.score)

    async def DeleteAvatar(self, request: pb.DeleteAvatarRequest,
                           context: grpc.aio.ServicerContext) -> pb.DeleteAvatarResponse:
        try:
            self.avatars.delete(request.avatar_id)
        except FacecastError as e:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
        return pb.DeleteAvatarResponse()

    @handles_errors
    async def Animate(self, request: pb.AnimateRequest, context: grpc.aio.ServicerContext) -> Responses:
        animator, fps, options = self._setup(request.animator, request.fps, request.text, request.language)
        controls = wire.controls_from_proto(request.controls)
        per_message = wire.frames_per_message(request.frames_per_message, TextureStream.frame_bytes(request.texture))
        textures = TextureStream.open(request.texture, self.avatars, self.render_executor)
        audio = await asyncio.to_thread(self._decode, request.audio)
        started = time.perf_counter()
        with self.sessions.open() as session_id:
            session = await asyncio.to_thread(animator.clip_session, audio, controls, fps, **options)
            yield wire.header(animator, fps, session_id, math.ceil(audio.duration * fps - 1e-9))
            scheduler = self.schedulers.for_animator(animator)
            pending: list[MotionFrame] = []
            end = TakeEnd(fps)  # a take ends settled to neutral, as offline takes do
            step = int(ANIMATE_CHUNK_SECONDS * MODEL_RATE)
            for start in [*range(0, len(audio.samples), step), None]:
                chunk = None if start is None else audio.samples[start:start + step]
                frames = await scheduler.run(session, chunk)
                pending += end.feed(frames) if chunk is not None else end.finish(frames)
                while len(pending) >= per_message or (start is None and pending):
                    batch, pending = pending[:per_message], pending[per_message:]
                    yield wire.frame_batch(batch)
                    for texture in await textures.render(batch) if textures else []:
                        yield texture
                if request.echo_audio and chunk is not None:
                    yield wire.audio_echo(chunk, start / MODEL_RATE, MODEL_RATE)
            yield pb.MotionResponse(status=pb.Status(
                code=pb.Status.OK, message="done", frames=session.frames_emitted, audio_seconds=audio.duration,
                compute_seconds=time.perf_counter() - started))

    @handles_errors
    async def Stream(self, request_iterator: AsyncIterator[pb.StreamRequest],
                     context: grpc.aio.ServicerContext) -> Responses:
        first = await anext(aiter(request_iterator), None)
        if first is None or first.WhichOneof("kind") != "config":
            raise InvalidInput("the first Stream message must be a config")
        config = first.config
        animator, fps, options = self._setup(config.animator, config.fps, config.text, config.language, live=True)
        controls = wire.controls_from_proto(config.controls)
        rate = config.sample_rate or MODEL_RATE
        sample_format = wire.sample_format(config.format)
        pcm_samples(b"", rate, sample_format)  # validates rate and format before any audio arrives
        textures = TextureStream.open(config.texture, self.avatars, self.render_executor)
        with self.sessions.open() as session_id:
            session = await asyncio.to_thread(animator.stream, controls, fps, **options)
            scheduler = self.schedulers.for_animator(animator)
            resampler = StreamResampler(rate)
            yield wire.header(animator, fps, session_id)
            received = 0.0
            async for message in request_iterator:
                kind = message.WhichOneof("kind")
                if kind == "pcm":
                    samples = pcm_samples(message.pcm, rate, sample_format)
                    if len(samples) > MAX_STREAM_CHUNK_SECONDS * rate:
                        raise InvalidInput(f"audio chunks may hold at most {MAX_STREAM_CHUNK_SECONDS:g} s")
                    received += len(samples) / rate
                    if received > self.config.max_stream_seconds:
                        raise InvalidInput(f"stream is longer than the limit of {self.config.max_stream_seconds:g} s")
                    frames = await scheduler.run(session, resampler(samples))
                    if config.echo_audio:
                        yield wire.audio_echo(samples, received - len(samples) / rate, rate)
                    if frames:
                        yield wire.frame_batch(frames)
                        for texture in await textures.render(frames) if textures else []:
                            yield texture
                elif kind == "controls":
                    session.update_controls(wire.controls_from_proto(message.controls, session.controls))
                    yield pb.MotionResponse(event=pb.Event(
                        name="controls", time_code=session.frames_emitted / fps, detail="controls updated"))
                elif kind == "end":
                    break
                else:
                    raise InvalidInput("config may be sent only once, first")
            tail = resampler(np.zeros(0, np.float32), last=True)
            frames = (await scheduler.run(session, tail) if len(tail) else []) + await scheduler.run(session, None)
            if frames:
                yield wire.frame_batch(frames)
                for texture in await textures.render(frames) if textures else []:
                    yield texture
            yield pb.MotionResponse(status=pb.Status(
                code=pb.Status.OK, message="done", frames=session.frames_emitted, audio_seconds=received))

    def _setup(self, name: str, fps: int, text: str, language: str,
               live: bool = False) -> tuple[Animator, int, dict[str, Any]]:
        animator = get_animator(name or self.config.default_animator or None, live)
        fps = wire.fps_from_request(fps)
        options: dict[str, Any] = {}
        if text or language:
            if not animator.accepts_text:
                raise InvalidInput(f"the {animator.name} animator does not take a transcript or language")
            options = {"text": text or None, "language": language or None}
        return animator, fps, options

    def _decode(self, audio: pb.AudioInput):
        source = audio.WhichOneof("source")
        limit = self.config.max_audio_seconds
        if source == "encoded" and audio.encoded:
            return load_audio(audio.encoded, max_seconds=limit)
        if source == "pcm" and audio.pcm.data:
            return from_pcm(audio.pcm.data, audio.pcm.sample_rate, wire.sample_format(audio.pcm.format),
                            max_seconds=limit)
        raise InvalidInput("the request has no audio")
