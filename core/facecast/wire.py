"""The wire format: conversions between facecast.v1 protobuf messages and facecast objects, both ways, with the
validation every request gets. The daemon and the client both use it; it needs no daemon code."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

import numpy as np

from facecast.controls import Controls
from facecast.errors import InvalidInput
from facecast.media import float_to_pcm16
from facecast.motion import CHANNELS, DEFAULT_FPS, TRANSLATION, MotionFrame, check_fps
from facecast.proto import facecast_pb2 as pb

if TYPE_CHECKING:  # the client (and the Blender add-on's subset wheel) never decode audio
    from facecast.audio import Audio

SAMPLE_FORMATS: dict[int, str] = {pb.SAMPLE_FORMAT_UNSPECIFIED: "pcm16", pb.PCM16: "pcm16", pb.FLOAT32: "float32"}


def controls_from_proto(message: pb.Controls, base: Controls | None = None) -> Controls:
    """Controls from a request; unset fields keep ``base`` (the session's current controls) or the defaults."""
    fields = (base or Controls()).to_dict()
    if message.emotion:
        fields["emotion"] = message.emotion
    for name in ("emotion_intensity", "head_motion", "intensity", "blink_rate", "seed"):
        if message.HasField(name):
            fields[name] = getattr(message, name)
    target = message.WhichOneof("gaze_target")
    if target == "camera":
        fields["gaze"] = None
    elif target == "gaze":
        fields["gaze"] = (message.gaze.yaw, message.gaze.pitch)
    return Controls.from_dict(fields).validated()


def controls_to_proto(controls: Controls) -> pb.Controls:
    message = pb.Controls(
        emotion=controls.emotion, emotion_intensity=controls.emotion_intensity, head_motion=controls.head_motion,
        intensity=controls.intensity, blink_rate=controls.blink_rate, seed=controls.seed)
    if controls.gaze is None:
        message.camera = True
    else:
        message.gaze.yaw, message.gaze.pitch = controls.gaze
    return message


def fps_from_request(fps: int) -> int:
    return check_fps(fps or DEFAULT_FPS)


DEFAULT_FRAMES_PER_MESSAGE = 30
MAX_FRAMES_PER_MESSAGE = 300  # 10 s at 30 fps
MAX_TEXTURE_BATCH_BYTES = 128 * 2**20  # raw texture bytes one batch may hold (8 RGBA frames of 2048 px)


def frames_per_message(value: int, texture_bytes: int = 0) -> int:
    """Frames per ``FrameBatch`` of an ``Animate`` call: 0 means :data:`DEFAULT_FRAMES_PER_MESSAGE`; at most
    :data:`MAX_FRAMES_PER_MESSAGE`, and with textures of ``texture_bytes`` each at most what fits in
    :data:`MAX_TEXTURE_BATCH_BYTES` (a batch's textures are rendered and held together)."""
    most = MAX_FRAMES_PER_MESSAGE
    if texture_bytes:
        most = max(1, min(most, MAX_TEXTURE_BATCH_BYTES // texture_bytes))
    if value == 0:
        return min(DEFAULT_FRAMES_PER_MESSAGE, most)
    if not 1 <= value <= most:
        why = f" with textures of {texture_bytes / 2**20:.1f} MB" if most < MAX_FRAMES_PER_MESSAGE else ""
        raise InvalidInput(f"frames_per_message must be in 1..{most}{why} (0 = "
                           f"{min(DEFAULT_FRAMES_PER_MESSAGE, most)}), not {value}")
    return value


def sample_format(value: int) -> str:
    if value not in SAMPLE_FORMATS:
        raise InvalidInput(f"unknown sample format {value}")
    return SAMPLE_FORMATS[value]


def decode_audio(audio: pb.AudioInput, max_seconds: float) -> Audio:
    """The audio of a request (encoded file bytes or raw PCM) at the model rate, at most ``max_seconds`` long."""
    from facecast.audio import from_pcm, load_audio

    source = audio.WhichOneof("source")
    if source == "encoded" and audio.encoded:
        return load_audio(audio.encoded, max_seconds=max_seconds)
    if source == "pcm" and audio.pcm.data:
        return from_pcm(audio.pcm.data, audio.pcm.sample_rate, sample_format(audio.pcm.format),
                        max_seconds=max_seconds)
    raise InvalidInput("the request has no audio")


class NamedAnimator(Protocol):
    """What a stream header says about its animator (an :class:`~facecast.animators.base.Animator` has it)."""

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def lookahead_ms(self) -> float: ...


def header(animator: NamedAnimator, fps: int, session_id: str, total_frames: int = 0) -> pb.MotionResponse:
    return pb.MotionResponse(header=pb.StreamHeader(
        channel_names=CHANNELS, translation_names=TRANSLATION, fps=fps, start_time_unix=time.time(),
        animator=animator.name, animator_version=animator.version, lookahead_ms=animator.lookahead_ms,
        total_frames=total_frames, session_id=session_id))


def frame_batch(frames: list[MotionFrame]) -> pb.MotionResponse:
    """One ``FrameBatch`` response. The values go in as Python lists: protobuf copies a list of floats about
    three times as fast as it reads a numpy array element by element, and the message is the same."""
    return pb.MotionResponse(frames=pb.FrameBatch(frames=[
        pb.Frame(index=f.index, time_code=f.time, values=f.values.tolist(),
                 head_translation=f.head_translation.tolist()) for f in frames]))


def pcm16_bytes(samples: np.ndarray) -> bytes:
    """Float samples in [-1, 1] as the PCM16 bytes that audio echoes carry."""
    return float_to_pcm16(samples).tobytes()


def audio_echo(samples: np.ndarray, time_code: float, sample_rate: int) -> pb.MotionResponse:
    return pcm16_echo(pcm16_bytes(samples), time_code, sample_rate)


def pcm16_echo(pcm16: bytes, time_code: float, sample_rate: int) -> pb.MotionResponse:
    return pb.MotionResponse(audio=pb.AudioChunk(time_code=time_code, pcm16=pcm16, sample_rate=sample_rate))


def frames_from_batch(batch: pb.FrameBatch) -> list[MotionFrame]:
    return [MotionFrame(f.index, f.time_code, np.asarray(f.values, np.float32),
                        np.asarray(f.head_translation or (0.0, 0.0, 0.0), np.float32)) for f in batch.frames]


MAX_WARNINGS = 4  # warnings a final Status carries at most
WARNING_CHARS = 300  # each cut to this length
_WARNING_PREFIX = "warning: "


def warning_text(text: str) -> str:
    """One warning as the wire carries it: a single line (whitespace collapsed), at most WARNING_CHARS long."""
    line = " ".join(text.split())
    return line if len(line) <= WARNING_CHARS else line[:WARNING_CHARS - 1] + "…"


def bounded_warnings(texts: Iterable[str]) -> list[str]:
    """The distinct warnings among ``texts``, in order, each as :func:`warning_text`, at most MAX_WARNINGS."""
    return list(dict.fromkeys(t for t in map(warning_text, texts) if t))[:MAX_WARNINGS]


def done_message(warnings: Iterable[str] = ()) -> str:
    """The message of a successful call's final Status: ``done``, then one ``warning: TEXT`` line per warning
    the animation raised (:func:`bounded_warnings`)."""
    return "\n".join(["done", *(_WARNING_PREFIX + line for line in bounded_warnings(warnings))])


def status_warnings(message: str) -> list[str]:
    """The warnings a final Status message carries (see :func:`done_message`); none for a plain ``done``."""
    return [line[len(_WARNING_PREFIX):] for line in message.split("\n")[1:] if line.startswith(_WARNING_PREFIX)]
