"""NVIDIA Audio2Face-3D compatible endpoint: ``nvidia_ace.services.a2f_controller.v1.A2FControllerService``.

Existing ACE clients (the ACE Unreal plugin, Maya-ACE, NVIDIA's sample Python client) send an
AudioWithEmotionStreamHeader, 16-bit mono PCM chunks with optional timed emotions, then EndOfAudio; they get a
stream header (blendshape names once, start time), one AnimationData per frame (time code, the 52 ARKit weights
in header order, the matching slice of their audio echoed back, emotion metadata when it changes), an
END_OF_A2F_AUDIO_PROCESSING event and a final Status. Work goes through the daemon's per-model schedulers, so
these streams are micro-batched together with native facecast streams. Parameter mapping: :mod:`.a2f_params`.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import numpy as np

from facecast.audio import MODEL_RATE
from facecast.errors import AudioError, InvalidInput
from facecast.motion import BLENDSHAPES, NUM_BLENDSHAPES, MotionFrame
from facecast.proto.a2f.nvidia_ace import animation_pb2, audio_pb2, status_pb2
from facecast.proto.a2f.nvidia_audio2face_3d import audio2face_pb2, audio2face_pb2_grpc
from facecast.proto.a2f.nvidia_audio2face_3d import messages_pb2 as a2f
from facecast.server import metrics
from facecast.server.a2f_params import (
    MAX_CHUNK_SECONDS,
    MAX_CLIP_SECONDS,
    MAX_PENDING_EMOTIONS,
    StreamSettings,
    controls_for_mix,
    emotion_mix,
    pcm16_chunk,
    stream_settings,
)
from facecast.server.calls import ERRORS, RequestReader, drain, handles_errors
from facecast.server.config import A2F_DEFAULT_PORT
from facecast.server.live import LiveSession
from facecast.server.state import DaemonState

log = logging.getLogger("facecast.server.a2f")
SERVICE_NAME = audio2face_pb2.DESCRIPTOR.services_by_name["A2FControllerService"].full_name
DEFAULT_PORT = A2F_DEFAULT_PORT
# After EndOfAudio, how long to watch for a message the client should not have sent (clients such as NVIDIA's
# sample never half-close, so waiting for the end of the request stream would hang them).
LATE_MESSAGE_GRACE_SECONDS = 0.2
DRAIN_SECONDS = 2.0  # how long a failing call keeps reading the client's remaining messages (see calls.drain)
# The emotion metadata is a google.protobuf.Any, whose type URL names the message. NVIDIA's protos on GitHub
# (Audio2Face-3D-Samples, its nvidia_ace 1.2.0 wheel, the sample apps) call EmotionAggregate
# nvidia_ace.emotion_aggregate.v1.EmotionAggregate, the PyPI wheel com.nvidia.ace.services.audio2face_3d.v1....;
# the bytes are the same. facecast uses the GitHub name, which NVIDIA's sample apps unpack.
EMOTION_AGGREGATE_TYPE_URL = "type.googleapis.com/nvidia_ace.emotion_aggregate.v1.EmotionAggregate"


def _status(code: int, message: str) -> a2f.A2F3DAnimationDataStream:
    return a2f.A2F3DAnimationDataStream(status=status_pb2.Status(code=code, message=message))


class A2FStream:
    """One ProcessAudioStream call after its header: audio in, AnimationData messages out. The audio goes
    through the shared :class:`~facecast.server.live.LiveSession` pump; this class adds timed emotions, the
    per-frame audio echo and the Audio2Face message shapes."""

    def __init__(self, settings: StreamSettings, live: LiveSession, lookahead_seconds: float) -> None:
        self.settings, self.live, self.session = settings, live, live.session
        self.rate = settings.sample_rate
        self.lookahead_seconds = lookahead_seconds
        self.keyframes: list[tuple[float, dict[str, float]]] = []  # (time code, mix) not yet applied, in order
        # Emotion metadata still to attach: (first frame index it applies to, aggregate), in order.
        self.aggregates: list[tuple[int, a2f.EmotionAggregate]] = [
            (0, self._aggregate(0.0, settings.beginning_emotion, settings.beginning_emotion))]

    @property
    def samples_received(self) -> int:
        return self.live.samples_received

    def _aggregate(self, time_code: float, given: dict[str, float], mix: dict[str, float]) -> a2f.EmotionAggregate:
        _, applied = controls_for_mix(mix, self.settings.emotion_strength, self.session.controls)
        return a2f.EmotionAggregate(
            input_emotions=[a2f.EmotionWithTimeCode(time_code=time_code, emotion=given)],
            a2f_smoothed_output=[a2f.EmotionWithTimeCode(time_code=time_code, emotion=applied)])

    async def push(self, message: a2f.AudioWithEmotion) -> list[a2f.A2F3DAnimationDataStream]:
        samples = pcm16_chunk(message.audio_buffer, self.rate)
        if len(self.keyframes) + len(message.emotions) > MAX_PENDING_EMOTIONS:
            raise InvalidInput(f"at most {MAX_PENDING_EMOTIONS} timed emotions may wait to be applied")
        for timed in message.emotions:
            if not (math.isfinite(timed.time_code) and timed.time_code >= 0):
                raise InvalidInput(f"emotion time codes must be >= 0 seconds, not {timed.time_code!r}")
            mix = emotion_mix(dict(timed.emotion), f"the emotions at time code {timed.time_code:g}")
            if self.settings.use_timed_emotions:  # kept in order; equal time codes keep the order they came in
                bisect.insort(self.keyframes, (timed.time_code, mix), key=lambda keyframe: keyframe[0])
        return self._messages(await self._advance(self.live.accept(samples, message.audio_buffer)))

    async def finish(self) -> list[a2f.A2F3DAnimationDataStream]:
        """End of audio: the remaining frames, then any audio not yet echoed."""
        frames = await self._advance(self.live.tail())
        duration = self.samples_received / self.rate
        while self.keyframes and self.keyframes[0][0] < duration:  # within the lookahead of the end
            self._apply_next_keyframe()
        self.keyframes.clear()
        messages = self._messages(frames + await self.live.flush())
        if len(self.live.echo):
            messages.append(a2f.A2F3DAnimationDataStream(animation_data=animation_pb2.AnimationData(
                audio=self._echo_until(self.samples_received))))
        return messages

    async def _advance(self, pcm: np.ndarray) -> list[MotionFrame]:
        """Push model-rate audio, cut where a timed emotion starts so it applies from its frame on: frame i is
        emitted once the audio reaches i / fps + lookahead, so controls change one sample before that."""
        frames: list[MotionFrame] = []
        while self.keyframes:
            start = math.ceil((self.keyframes[0][0] + self.lookahead_seconds) * MODEL_RATE) - 1
            cut = start - self.live.model_samples_pushed
            if cut > len(pcm):
                break
            if cut > 0:
                frames += await self.live.run(pcm[:cut])
                pcm = pcm[cut:]
            self._apply_next_keyframe()
        if len(pcm):
            frames += await self.live.run(pcm)
        return frames

    def _apply_next_keyframe(self) -> None:
        time_code, mix = self.keyframes.pop(0)
        controls, _ = controls_for_mix(mix, self.settings.emotion_strength, self.session.controls)
        self.session.update_controls(controls)
        self.aggregates.append((self.session.frames_emitted, self._aggregate(time_code, mix, mix)))

    def _echo_until(self, end_sample: int) -> animation_pb2.AudioWithTimeCode:
        start, chunk = self.live.echo.take_until(end_sample)
        return animation_pb2.AudioWithTimeCode(time_code=start / self.rate, audio_buffer=chunk)

    def _messages(self, frames: list[MotionFrame]) -> list[a2f.A2F3DAnimationDataStream]:
        messages = []
        for frame in frames:
            weights = self.settings.post(np.asarray(frame.values[:NUM_BLENDSHAPES], np.float32))
            data = animation_pb2.AnimationData(skel_animation=animation_pb2.SkelAnimation(blend_shape_weights=[
                animation_pb2.FloatArrayWithTimeCode(time_code=frame.time, values=weights)]))
            frame_end = min(round((frame.index + 1) * self.rate / self.settings.fps), self.samples_received)
            if frame_end > self.live.echo.start:
                data.audio.CopyFrom(self._echo_until(frame_end))
            due = [aggregate for first, aggregate in self.aggregates if first <= frame.index]
            if due:  # several changes before one frame: the last one is what the frame shows
                del self.aggregates[:len(due)]
                for emotions in due[-1].a2f_smoothed_output:
                    emotions.time_code = frame.time
                metadata = data.metadata["emotion_aggregate"]
                metadata.type_url, metadata.value = EMOTION_AGGREGATE_TYPE_URL, due[-1].SerializeToString()
            messages.append(a2f.A2F3DAnimationDataStream(animation_data=data))
        return messages


class A2FController(audio2face_pb2_grpc.A2FControllerServiceServicer):
    """The Audio2Face-3D service, sharing the daemon's sessions, schedulers and limits with the native one."""

    def __init__(self, state: DaemonState) -> None:
        self.state = state

    @handles_errors
    async def ProcessAudioStream(self, request_iterator: AsyncIterator[a2f.AudioWithEmotionStream],
                                 context: grpc.aio.ServicerContext) -> AsyncIterator[a2f.A2F3DAnimationDataStream]:
        requests = aiter(request_iterator)
        reader = self.state.reader(requests)
        try:
            async for response in self._converse(reader):
                yield response
                reader.tick()
        except ERRORS:
            await drain(requests, DRAIN_SECONDS, lambda m: m.WhichOneof("stream_part") == "end_of_audio",
                        LATE_MESSAGE_GRACE_SECONDS)
            raise
        finally:
            self.state.release(reader)

    async def _converse(self, reader: RequestReader) -> AsyncIterator[a2f.A2F3DAnimationDataStream]:
        config = self.state.config
        with self.state.session("live") as session_id:
            async for response in self._process(session_id, reader, config.config_timeout_seconds,
                                                config.idle_timeout_seconds):
                yield response

    async def _process(self, session_id: str, reader: RequestReader, config_timeout: float,
                       idle_timeout: float) -> AsyncIterator[a2f.A2F3DAnimationDataStream]:
        requests = reader.requests
        first = await reader.next(config_timeout, "audio_stream_header")
        if first is None or first.WhichOneof("stream_part") != "audio_stream_header":
            got = "nothing" if first is None else first.WhichOneof("stream_part")
            raise InvalidInput(f"the first message must be an audio_stream_header, not {got}")
        header = first.audio_stream_header
        settings = stream_settings(header)
        animator = self.state.animator(None, live=True)
        cost = self.state.admit_animator(session_id, animator)
        session = await asyncio.to_thread(animator.stream, settings.controls, settings.fps)
        live = LiveSession(session, self.state.schedulers.for_animator(animator), settings.sample_rate,
                           MAX_CHUNK_SECONDS, MAX_CLIP_SECONDS, capacity=self.state.capacity, kind="a2f", cost=cost)
        stream = A2FStream(settings, live, animator.lookahead_ms / 1000)
        metrics.DAEMON.calls.inc(method="ProcessAudioStream", animator=animator.name)
        yield a2f.A2F3DAnimationDataStream(animation_data_stream_header=a2f.A2F3DAnimationDataStreamHeader(
            audio_header=audio_pb2.AudioHeader(
                audio_format=header.audio_header.audio_format, channel_count=1, bits_per_sample=16,
                samples_per_second=settings.sample_rate),
            skel_animation_header=animation_pb2.SkelAnimationHeader(blend_shapes=BLENDSHAPES),
            start_time_code_since_epoch=time.time()))
        for warning in settings.warnings:
            log.warning("a2f stream: %s", warning)
            yield _status(status_pb2.Status.WARNING, warning)
        ended = False
        while (message := await reader.next(idle_timeout, "audio")) is not None:
            part = message.WhichOneof("stream_part")
            if part == "audio_with_emotion":
                received = time.perf_counter()
                responses = await stream.push(message.audio_with_emotion)
                for response in responses:
                    yield response
                live.sent_count(len(responses), received)
            elif part == "end_of_audio":
                ended = True
                break
            else:
                raise InvalidInput(f"{part or 'an empty message'} is not allowed here: send the "
                                   "audio_stream_header once, first")
        if reader.interrupted:  # the daemon is draining: what the audio so far gives, then the end
            for response in await stream.finish():
                yield response
            yield _status(status_pb2.Status.ERROR, "the daemon is shutting down: the stream ends here; "
                          "reconnect")
            return
        if not stream.samples_received:
            raise AudioError("no audio was sent: send at least one audio_with_emotion before end_of_audio")
        late = asyncio.ensure_future(anext(requests, None)) if ended else None
        try:
            for response in await stream.finish():
                yield response
            yield a2f.A2F3DAnimationDataStream(event=a2f.Event(event_type=a2f.END_OF_A2F_AUDIO_PROCESSING))
            extra = await _result_within(late, LATE_MESSAGE_GRACE_SECONDS) if late else None
            if extra is not None:
                raise InvalidInput(f"{extra.WhichOneof('stream_part')} received after end_of_audio; "
                                   "a stream carries one audio clip")
        finally:
            if late is not None and not late.done():  # stop reading before anyone else reads
                late.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await late
        seconds = stream.samples_received / settings.sample_rate
        yield _status(status_pb2.Status.SUCCESS, f"audio processing completed: {session.frames_emitted} frames "
                      f"at {settings.fps} fps for {seconds:.2f} s of audio")


async def _result_within(task: asyncio.Future[Any], seconds: float) -> Any:
    """The task's result if it succeeds within ``seconds``, else None (the task is left running)."""
    done, _ = await asyncio.wait({task}, timeout=seconds)
    return task.result() if done and not task.cancelled() and task.exception() is None else None


def add_to_server(state: DaemonState, server: grpc.aio.Server) -> None:
    """Serve the Audio2Face-3D API on ``server`` with the daemon's shared state."""
    audio2face_pb2_grpc.add_A2FControllerServiceServicer_to_server(A2FController(state), server)
