"""The ``Animate`` call: a whole clip animated in a worker process (:mod:`.clipwork`), its frames sent in
batches of ``frames_per_message`` as each 2 s slice is done, with texture frames and the audio echo. While the
animator does slow work before the first frame (phone recognition), ``Event``s named ``progress`` say how far
it is: ``time_code`` the seconds of audio done, ``detail`` the stage (``hearing phones``)."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

from facecast import wire
from facecast.audio import MODEL_RATE
from facecast.motion import MotionFrame
from facecast.proto import facecast_pb2 as pb
from facecast.server import metrics
from facecast.server.avatars import TextureStream
from facecast.server.clipcost import declared_seconds
from facecast.server.clipwork import ClipJob
from facecast.server.options import animation_options
from facecast.server.state import DaemonState
from facecast.settle import TakeEnd

Responses = AsyncIterator[pb.MotionResponse]


async def animate(state: DaemonState, request: pb.AnimateRequest, time_left: float | None = None) -> Responses:
    """The responses of one Animate call; ``time_left``: seconds to its deadline (a clip that would wait for a
    worker past it is refused at once)."""
    animator = state.animator(request.animator)
    fps, options = animation_options(animator, request.fps, request.text, request.language, state.config)
    controls = wire.controls_from_proto(request.controls)
    # checked before any renderer is built: an invalid 2048-px request must not cost a renderer
    per_message = wire.frames_per_message(request.frames_per_message, TextureStream.frame_bytes(request.texture))
    textures = await TextureStream.open(request.texture, state.avatars, state.clip_render)
    job = ClipJob(request.audio.SerializeToString(), state.config.max_audio_seconds, animator.name, controls, fps,
                  options, request.echo_audio, declared_seconds(request.audio))
    metrics.DAEMON.calls.inc(method="Animate", animator=animator.name)
    with state.session("clip") as session_id:
        pending: list[MotionFrame] = []
        end = TakeEnd(fps)  # a take ends settled to neutral, as offline takes do
        duration = 0.0
        async for message in state.clips.run(job, time_left):
            if message[0] == "ready":
                duration = message[1]
                yield wire.header(animator, fps, session_id, math.ceil(duration * fps - 1e-9))
            elif message[0] == "progress":  # the work before the first frame: seconds of audio heard so far
                _, stage, done, _total = message
                yield pb.MotionResponse(event=pb.Event(name="progress", time_code=done, detail=stage))
            elif message[0] == "frames":
                _, frames, start, chunk = message
                last = start is None
                pending += end.finish(frames) if last else end.feed(frames)
                while len(pending) >= per_message or (last and pending):
                    batch, pending = pending[:per_message], pending[per_message:]
                    yield wire.frame_batch(batch)
                    metrics.DAEMON.frames.inc(len(batch), kind="clip")
                    for texture in await textures.render(batch) if textures else []:
                        yield texture
                if chunk is not None:
                    yield wire.audio_echo(chunk, start / MODEL_RATE, MODEL_RATE)
            else:
                _, frames_emitted, compute_seconds, raised = message
                yield pb.MotionResponse(status=pb.Status(
                    code=pb.Status.OK, message=wire.done_message(raised), frames=frames_emitted,
                    audio_seconds=duration, compute_seconds=compute_seconds))
