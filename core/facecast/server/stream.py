"""The native ``Stream`` call: a config, then PCM chunks and control updates, then End; everything else is the
:class:`~facecast.server.live.LiveSession` pump.

The call holds a live session from its first byte (so streams that never send a config count against the
limit and are refused past the measured capacity), must send its config within ``config_timeout_seconds`` and
then something at least every ``idle_timeout_seconds``. When the daemon drains, the stream is flushed and ends
with a ``Status`` whose code is CANCELLED.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from facecast import wire
from facecast.animators.base import Animator
from facecast.audio import MODEL_RATE, pcm_samples
from facecast.errors import InvalidInput
from facecast.motion import MotionFrame
from facecast.proto import facecast_pb2 as pb
from facecast.server import metrics
from facecast.server.avatars import TextureStream
from facecast.server.calls import RequestReader
from facecast.server.live import LiveSession
from facecast.server.options import animation_options
from facecast.server.state import DaemonState

MAX_STREAM_CHUNK_SECONDS = 10.0
Responses = AsyncIterator[pb.MotionResponse]


async def stream(state: DaemonState, requests: AsyncIterator[pb.StreamRequest]) -> Responses:
    """The responses of one Stream call."""
    config = state.config
    with state.session("live") as session_id:
        reader = state.reader(requests)
        try:
            first = await reader.next(config.config_timeout_seconds, "config")
            if first is None or first.WhichOneof("kind") != "config":
                raise InvalidInput("the first Stream message must be a config")
            live, animator = await _open(state, session_id, first.config)
            yield wire.header(animator, live.session.fps, session_id)
            sample_format = wire.sample_format(first.config.format)
            async for response in _pump(state, live, reader, sample_format, first.config.echo_audio):
                yield response
                reader.tick()
        finally:
            state.release(reader)


async def _open(state: DaemonState, session_id: str, config: pb.StreamConfig) -> tuple[LiveSession, Animator]:
    animator = state.animator(config.animator, live=True)
    cost = state.admit_animator(session_id, animator)
    fps, options = animation_options(animator, config.fps, config.text, config.language, state.config)
    controls = wire.controls_from_proto(config.controls)
    rate = config.sample_rate or MODEL_RATE
    sample_format = wire.sample_format(config.format)
    pcm_samples(b"", rate, sample_format)  # validates rate and format before any audio arrives
    textures = await TextureStream.open(config.texture, state.avatars, state.live_render)
    session = await asyncio.to_thread(animator.stream, controls, fps, **options)
    live = LiveSession(session, state.schedulers.for_animator(animator), rate, MAX_STREAM_CHUNK_SECONDS,
                       state.config.max_stream_seconds, textures, state.capacity, echo=config.echo_audio, cost=cost)
    metrics.DAEMON.calls.inc(method="Stream", animator=animator.name)
    return live, animator


async def _pump(state: DaemonState, live: LiveSession, reader: RequestReader, sample_format: str,
                echo: bool) -> Responses:
    session, rate = live.session, live.rate
    while (message := await reader.next(state.config.idle_timeout_seconds, "message")) is not None:
        kind = message.WhichOneof("kind")
        received = time.perf_counter()
        if kind == "pcm":
            frames = await live.push(pcm_samples(message.pcm, rate, sample_format))
            if echo:
                start, pcm16 = live.echo.take_until(live.samples_received)
                yield wire.pcm16_echo(pcm16, start / rate, rate)
            async for response in _frames(live, frames, received):
                yield response
        elif kind == "controls":
            session.update_controls(wire.controls_from_proto(message.controls, session.controls))
            yield pb.MotionResponse(event=pb.Event(
                name="controls", time_code=session.frames_emitted / session.fps, detail="controls updated"))
        elif kind == "end":
            break
        else:
            raise InvalidInput("config may be sent only once, first")
    async for response in _frames(live, await live.finish(), time.perf_counter()):
        yield response
    if reader.interrupted:
        yield pb.MotionResponse(status=pb.Status(
            code=pb.Status.CANCELLED, message="the daemon is shutting down: the stream ends here; reconnect",
            frames=session.frames_emitted, audio_seconds=live.seconds_received))
        return
    yield pb.MotionResponse(status=pb.Status(
        code=pb.Status.OK, message=wire.done_message(session.metadata.get("warnings", ())),
        frames=session.frames_emitted, audio_seconds=live.seconds_received))


async def _frames(live: LiveSession, frames: list[MotionFrame], received: float) -> Responses:
    if not frames:
        return
    yield wire.frame_batch(frames)
    live.sent(frames, received)
    async for texture in live.render(frames):
        yield texture
