"""Audio2Face-3D request parameters mapped onto facecast: audio limits, emotions, face parameters, blendshape
multipliers and offsets. Plain functions and classes over the generated messages; the servicer in :mod:`.a2f`
only moves messages.

facecast has no audio-to-emotion model, so the client's emotions (beginning emotion, then timed emotions) are
the only emotion source; parameters that shape an audio-detected emotion have nothing to act on and are
reported in a warning when the client sets them to anything but NVIDIA's default.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from facecast.controls import EMOTION_ALIASES, Controls
from facecast.errors import AudioError, InvalidInput, quoted
from facecast.motion import BLENDSHAPES, DEFAULT_FPS, check_fps
from facecast.proto.a2f.nvidia_ace import audio_pb2
from facecast.proto.a2f.nvidia_audio2face_3d import messages_pb2 as a2f

# NVIDIA's input sanitisation limits (Audio2Face-3D NIM advanced_config.yaml).
MIN_SAMPLE_RATE = 16_000
MAX_SAMPLE_RATE = 144_000
MAX_CHUNK_SECONDS = 10.0
MAX_CLIP_SECONDS = 300.0
MAX_PENDING_EMOTIONS = 1000  # timed emotions received and not yet applied, per stream

A2F_EMOTIONS: tuple[str, ...] = ("amazement", "anger", "cheekiness", "disgust", "fear", "grief", "joy",
                                 "outofbreath", "pain", "sadness")
DEFAULT_EMOTION_STRENGTH = 0.6

# Tongue shapes that Audio2Face-3D 2.x models output and facecast does not (only TongueOut): multipliers and
# offsets for them are accepted, as NVIDIA's sample configs send them, and reported as ignored.
A2F_EXTRA_BLENDSHAPES = frozenset(
    f"Tongue{part}" for part in ("TipUp", "TipDown", "TipLeft", "TipRight", "RollUp", "RollDown", "RollLeft",
                                 "RollRight", "Up", "Down", "Left", "Right", "In", "Stretch", "Wide", "Narrow"))

BS = {name: i for i, name in enumerate(BLENDSHAPES)}


def _indices(*prefixes: str) -> list[int]:
    return [i for name, i in BS.items() if name.startswith(prefixes)]


BLINK = _indices("EyeBlink")
UPPER_FACE = _indices("Brow", "EyeSquint", "EyeWide", "CheekSquint", "NoseSneer")
LOWER_FACE = _indices("Jaw", "Mouth", "CheekPuff")
TONGUE = _indices("TongueOut")
LIPS_PART = _indices("MouthLowerDown", "MouthUpperUp")

# Face parameters facecast applies (see FacePostProcess) and those it cannot, with NVIDIA's defaults: these
# warn only when set to something else.
APPLIED_FACE_PARAMS = frozenset({
    "lowerFaceStrength", "upperFaceStrength", "lowerFaceSmoothing", "upperFaceSmoothing", "skinStrength",
    "blinkStrength", "blinkOffset", "eyelidOpenOffset", "lipOpenOffset", "tongueStrength"})
UNSUPPORTED_FACE_PARAMS = {"faceMaskLevel": 0.6, "faceMaskSoftness": 0.0085, "tongueHeightOffset": 0.0,
                           "tongueDepthOffset": 0.0}
# facecast extensions in FaceParameters.integer_params (NVIDIA defines none, so NVIDIA clients never send them).
INTEGER_PARAMS = ("fps", "seed")
UNUSED_POST_PROCESSING = {"emotion_contrast": 1.0, "live_blend_coef": 0.7, "preferred_emotion_strength": 0.5,
                          "max_emotions": 3}


def emotion_mix(emotions: dict[str, float], where: str) -> dict[str, float]:
    """Check an Audio2Face emotion map (known names, strengths in [0, 1]) and return it with lower-case keys."""
    mix = {}
    for name, value in emotions.items():
        key = name.strip().lower()
        if key not in A2F_EMOTIONS:
            raise InvalidInput(f"unknown emotion {quoted(name)} in {where}; Audio2Face-3D emotions are "
                               f"{', '.join(A2F_EMOTIONS)}")
        if not (math.isfinite(value) and 0.0 <= value <= 1.0):
            raise InvalidInput(f"emotion {quoted(name)} in {where} must be in [0, 1], not {value!r}")
        mix[key] = float(value)
    return mix


def controls_for_mix(mix: dict[str, float], strength: float, base: Controls) -> tuple[Controls, dict[str, float]]:
    """facecast Controls for a weighted mix of Audio2Face emotions, and the mix as applied (Audio2Face names).

    facecast shows one emotion at a time, so each Audio2Face emotion votes for the facecast emotion it maps
    to (controls.EMOTION_ALIASES, with its intensity factor) and the emotion with the most votes wins; its
    vote, times ``emotion_strength``, is the intensity; a tie goes to the one whose Audio2Face emotion comes
    first in :data:`A2F_EMOTIONS`. An empty or all-zero mix is neutral. The applied mix
    keeps the Audio2Face emotions that voted for the winner, scaled by ``emotion_strength``; the others are 0.
    """
    votes: dict[str, float] = {}
    for name in (n for n in A2F_EMOTIONS if n in mix):  # a fixed order: ties go to the emotion listed first
        ours, factor = EMOTION_ALIASES[name]
        votes[ours] = votes.get(ours, 0.0) + mix[name] * factor
    winner = max(votes, key=votes.__getitem__, default="neutral")
    vote = votes.get(winner, 0.0)
    emotion = winner if vote > 0.0 else "neutral"
    controls = replace(base, emotion=emotion, emotion_intensity=min(1.0, vote * strength)).validated()
    applied = {name: (mix.get(name, 0.0) * strength if EMOTION_ALIASES[name][0] == emotion else 0.0)
               for name in A2F_EMOTIONS}
    return controls, applied


@dataclass
class FacePostProcess:
    """What Audio2Face applies to the solved blendshapes, applied to facecast's frames in the same order:
    face parameters (region strength, offsets, temporal smoothing), then the client's multipliers and offsets,
    then clamping to [0, 1] when asked."""

    fps: int
    strength: np.ndarray = field(default_factory=lambda: np.ones(len(BLENDSHAPES), np.float32))
    face_offset: np.ndarray = field(default_factory=lambda: np.zeros(len(BLENDSHAPES), np.float32))
    smoothing_seconds: np.ndarray = field(default_factory=lambda: np.zeros(len(BLENDSHAPES), np.float32))
    multiplier: np.ndarray = field(default_factory=lambda: np.ones(len(BLENDSHAPES), np.float32))
    offset: np.ndarray = field(default_factory=lambda: np.zeros(len(BLENDSHAPES), np.float32))
    clamp: bool = False
    _smoothed: np.ndarray | None = None

    def apply_face_params(self, params: dict[str, float]) -> None:
        """Strengths scale a region, offsets shift a pose, smoothings are time constants in seconds."""
        get = params.get
        self.strength[LOWER_FACE + UPPER_FACE] *= get("skinStrength", 1.0)
        self.strength[LOWER_FACE] *= get("lowerFaceStrength", 1.0)
        self.strength[UPPER_FACE] *= get("upperFaceStrength", 1.0)
        self.strength[BLINK] *= get("blinkStrength", 1.0)
        self.strength[TONGUE] *= get("tongueStrength", 1.0)
        # A positive eyelid offset opens the eyes (less blink); a positive lip offset parts the lips.
        self.face_offset[BLINK] += get("blinkOffset", 0.0) - get("eyelidOpenOffset", 0.0)
        self.face_offset[LIPS_PART] += get("lipOpenOffset", 0.0)
        self.smoothing_seconds[LOWER_FACE + TONGUE] = get("lowerFaceSmoothing", 0.0)
        self.smoothing_seconds[UPPER_FACE + BLINK] = get("upperFaceSmoothing", 0.0)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """Post-process one frame's 52 blendshape weights (smoothing keeps state between calls)."""
        shaped = values * self.strength + self.face_offset
        if self._smoothed is None:
            self._smoothed = shaped
        else:
            alpha = np.where(self.smoothing_seconds > 0,
                             1.0 - np.exp(-1.0 / (self.fps * np.maximum(self.smoothing_seconds, 1e-9))), 1.0)
            self._smoothed = self._smoothed + alpha * (shaped - self._smoothed)
        out = self._smoothed * self.multiplier + self.offset
        return (np.clip(out, 0.0, 1.0) if self.clamp else out).astype(np.float32)


@dataclass
class StreamSettings:
    """Everything an AudioWithEmotionStreamHeader asks for, checked, in facecast's terms."""

    sample_rate: int
    fps: int
    controls: Controls
    emotion_strength: float
    use_timed_emotions: bool
    beginning_emotion: dict[str, float]
    post: FacePostProcess
    warnings: list[str]


def _check_audio_header(header: audio_pb2.AudioHeader) -> int:
    if header.audio_format != 0:
        raise AudioError(f"audio_format {header.audio_format} is not supported; only AUDIO_FORMAT_PCM")
    if header.channel_count != 1:
        raise AudioError(f"only mono audio is supported (channel_count 1), not channel_count {header.channel_count}")
    if header.bits_per_sample != 16:
        raise AudioError(f"only 16-bit PCM is supported (bits_per_sample 16), not {header.bits_per_sample}")
    rate = header.samples_per_second
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioError(f"samples_per_second must be in [{MIN_SAMPLE_RATE}, {MAX_SAMPLE_RATE}], not {rate}")
    return rate


def _face_params(message: a2f.FaceParameters, post: FacePostProcess, warnings: list[str]) -> dict[str, int]:
    floats = dict(message.float_params)
    known = APPLIED_FACE_PARAMS | set(UNSUPPORTED_FACE_PARAMS)
    for name, value in floats.items():
        if name not in known:
            raise InvalidInput(f"unknown face parameter {quoted(name)}; Audio2Face-3D face parameters are "
                               f"{', '.join(sorted(known))}")
        if not math.isfinite(value):
            raise InvalidInput(f"face parameter {quoted(name)} must be a finite number, not {value!r}")
        if (name.endswith("Strength") and not 0.0 <= value <= 10.0) or (
                name.endswith("Smoothing") and not 0.0 <= value <= 1.0) or (
                name.endswith("Offset") and not -1.0 <= value <= 1.0):
            raise InvalidInput(f"face parameter {quoted(name)} is out of range: {value!r} (strengths 0..10, "
                               "smoothings 0..1 s, offsets -1..1)")
    unsupported = [f"{name}={floats[name]:g}" for name, default in UNSUPPORTED_FACE_PARAMS.items()
                   if name in floats and not math.isclose(floats[name], default, abs_tol=1e-6)]
    if unsupported:
        warnings.append(f"face parameters without a facecast equivalent were ignored: {', '.join(unsupported)}")
    post.apply_face_params(floats)
    if message.float_array_params:
        raise InvalidInput(f"float_array_params are not supported: {', '.join(sorted(message.float_array_params))}")
    integers = dict(message.integer_params)
    for name in integers:
        if name not in INTEGER_PARAMS:
            raise InvalidInput(f"unknown integer face parameter {quoted(name)}; facecast accepts "
                               f"{', '.join(INTEGER_PARAMS)}")
    return integers


def _blendshape_params(message: a2f.BlendShapeParameters, post: FacePostProcess, warnings: list[str]) -> None:
    ignored: set[str] = set()
    for table, target in ((message.bs_weight_multipliers, post.multiplier), (message.bs_weight_offsets, post.offset)):
        for name, value in table.items():
            if name in A2F_EXTRA_BLENDSHAPES:
                ignored.add(name)
            elif name not in BS:
                raise InvalidInput(f"unknown blendshape {quoted(name)}; use the PascalCase ARKit names "
                                   f"({', '.join(BLENDSHAPES[:3])}, ...)")
            elif not math.isfinite(value):
                raise InvalidInput(f"blendshape parameter for {quoted(name)} must be a finite number, not {value!r}")
            else:
                target[BS[name]] = value
    if ignored:
        warnings.append(f"facecast has no {', '.join(sorted(ignored))} blendshapes; their multipliers and "
                        "offsets were ignored")
    post.clamp = message.enable_clamping_bs_weight


def _emotion_settings(header: a2f.AudioWithEmotionStreamHeader, warnings: list[str]) -> tuple[float, bool]:
    processing = header.emotion_post_processing_params
    strength = processing.emotion_strength if processing.HasField("emotion_strength") else DEFAULT_EMOTION_STRENGTH
    if not (math.isfinite(strength) and 0.0 <= strength <= 1.0):
        raise InvalidInput(f"emotion_strength must be in [0, 1], not {strength!r}")
    unused = [f"{name}={getattr(processing, name):g}" for name, default in UNUSED_POST_PROCESSING.items()
              if processing.HasField(name) and not math.isclose(getattr(processing, name), default, abs_tol=1e-6)]
    if header.emotion_params.HasField("live_transition_time"):
        unused.append(f"live_transition_time={header.emotion_params.live_transition_time:g}")
    if unused:
        warnings.append("facecast has no audio-to-emotion model, so these emotion parameters have nothing to "
                        f"act on and were ignored: {', '.join(unused)}")
    timed = not processing.HasField("enable_preferred_emotion") or processing.enable_preferred_emotion
    if not timed:
        warnings.append("enable_preferred_emotion is false: timed emotions are ignored and the beginning emotion "
                        "holds (facecast has no audio-detected emotion to use instead)")
    return strength, timed


def stream_settings(header: a2f.AudioWithEmotionStreamHeader) -> StreamSettings:
    """Check a stream header and translate it; raises InvalidInput/AudioError naming the problem."""
    if not header.HasField("audio_header"):
        raise AudioError("the AudioStreamHeader has no audio_header")
    rate = _check_audio_header(header.audio_header)
    warnings: list[str] = []
    post = FacePostProcess(DEFAULT_FPS)
    integers = _face_params(header.face_params, post, warnings)
    post.fps = check_fps(integers.get("fps", DEFAULT_FPS))
    _blendshape_params(header.blendshape_params, post, warnings)
    strength, timed = _emotion_settings(header, warnings)
    beginning = emotion_mix(dict(header.emotion_params.beginning_emotion), "beginning_emotion")
    seed = integers.get("seed", 0)
    base = Controls(seed=seed).validated()
    controls, _ = controls_for_mix(beginning, strength, base)
    return StreamSettings(rate, post.fps, controls, strength, timed, beginning, post, warnings)


def pcm16_chunk(data: bytes, rate: int) -> np.ndarray:
    """Decode one chunk of mono 16-bit little-endian PCM to float32, within the chunk length limit."""
    if len(data) % 2:
        raise AudioError(f"a 16-bit PCM chunk must have an even number of bytes, not {len(data)}")
    if len(data) // 2 > MAX_CHUNK_SECONDS * rate:
        raise AudioError(f"audio chunks may hold at most {MAX_CHUNK_SECONDS:g} s; this one holds "
                         f"{len(data) / 2 / rate:.1f} s")
    return np.frombuffer(data, "<i2").astype(np.float32) / 32768.0
