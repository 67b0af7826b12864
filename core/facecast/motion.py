"""The motion contract: channels, units, frame rates, :class:`MotionClip` and the ``.fcclip`` file.

Every part of facecast speaks this contract. A frame holds 61 float channels in the order of Unreal's
``EARFaceBlendShape`` enum, which is also the order of the values in a Live Link Face UDP packet: the 52
ARKit blendshapes in [0, 1], then head yaw/pitch/roll and the two eyes' yaw/pitch/roll in radians. Head
translation (x, y, z in metres) travels beside the 61 channels.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgpack
import numpy as np

from facecast.errors import InvalidInput, quoted
from facecast.fileio import atomic_write_bytes, read_document, read_input

BLENDSHAPES: tuple[str, ...] = (
    "EyeBlinkLeft", "EyeLookDownLeft", "EyeLookInLeft", "EyeLookOutLeft", "EyeLookUpLeft",
    "EyeSquintLeft", "EyeWideLeft",
    "EyeBlinkRight", "EyeLookDownRight", "EyeLookInRight", "EyeLookOutRight", "EyeLookUpRight",
    "EyeSquintRight", "EyeWideRight",
    "JawForward", "JawLeft", "JawRight", "JawOpen",
    "MouthClose", "MouthFunnel", "MouthPucker", "MouthLeft", "MouthRight",
    "MouthSmileLeft", "MouthSmileRight", "MouthFrownLeft", "MouthFrownRight",
    "MouthDimpleLeft", "MouthDimpleRight", "MouthStretchLeft", "MouthStretchRight",
    "MouthRollLower", "MouthRollUpper", "MouthShrugLower", "MouthShrugUpper",
    "MouthPressLeft", "MouthPressRight", "MouthLowerDownLeft", "MouthLowerDownRight",
    "MouthUpperUpLeft", "MouthUpperUpRight",
    "BrowDownLeft", "BrowDownRight", "BrowInnerUp", "BrowOuterUpLeft", "BrowOuterUpRight",
    "CheekPuff", "CheekSquintLeft", "CheekSquintRight",
    "NoseSneerLeft", "NoseSneerRight", "TongueOut",
)  # fmt: skip
ROTATIONS: tuple[str, ...] = (
    "HeadYaw", "HeadPitch", "HeadRoll",
    "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
    "RightEyeYaw", "RightEyePitch", "RightEyeRoll",
)  # fmt: skip
CHANNELS: tuple[str, ...] = BLENDSHAPES + ROTATIONS
TRANSLATION: tuple[str, ...] = ("HeadX", "HeadY", "HeadZ")
NUM_BLENDSHAPES = len(BLENDSHAPES)
NUM_CHANNELS = len(CHANNELS)
CHANNEL_INDEX: dict[str, int] = {name: i for i, name in enumerate(CHANNELS)}

# The Live Link Face app sends head and eye angles scaled into [-1, 1], where 1 stands for a quarter turn.
# Internally angles are radians, so CSV takes and UDP packets divide by this on the way out.
LIVELINK_ANGLE_SCALE = math.pi / 2


def to_livelink_units(values: np.ndarray) -> np.ndarray:
    """Contract values (angles in radians) to the app's units (angles scaled to [-1, 1])."""
    out = np.array(values, np.float32, copy=True)
    out[..., NUM_BLENDSHAPES:] /= LIVELINK_ANGLE_SCALE
    return out


def from_livelink_units(values: np.ndarray) -> np.ndarray:
    """The app's units back to contract values (angles in radians)."""
    out = np.array(values, np.float32, copy=True)
    out[..., NUM_BLENDSHAPES:] *= LIVELINK_ANGLE_SCALE
    return out


FPS_OPTIONS: tuple[int, ...] = (24, 25, 30, 60)
DEFAULT_FPS = 30

# Long jobs (animating, rendering) report (seconds of the clip done, seconds total) through one of these.
ProgressCallback = Callable[[float, float], None]


def progress_span(progress: ProgressCallback | None, start: float, share: float) -> ProgressCallback | None:
    """``progress`` for one step of a larger job that fills ``share`` of the whole from ``start`` (both fractions
    of the whole): the step reports its own ``(done, total)``, ``progress`` sees the whole job's."""
    if progress is None:
        return None
    return lambda done, total: progress(total * (start + share * (done / total if total else 1.0)), total)

FCCLIP_FORMAT = "facecast.fcclip"
FCCLIP_VERSION = 1


def channel(name: str) -> int:
    """Index of a channel by its contract name (``"JawOpen"``), with a clear error for unknown names."""
    try:
        return CHANNEL_INDEX[name]
    except KeyError:
        raise InvalidInput(f"unknown motion channel {quoted(name)}; channels are the 52 ARKit blendshapes "
                           f"and {', '.join(ROTATIONS)}") from None


def check_fps(fps: int) -> int:
    """Return ``fps`` when it is one of :data:`FPS_OPTIONS`, else raise :class:`InvalidInput`."""
    if fps not in FPS_OPTIONS:
        raise InvalidInput(f"fps must be one of {', '.join(map(str, FPS_OPTIONS))}, not {fps}")
    return int(fps)


@dataclass
class MotionFrame:
    """One frame of motion: frame ``index`` covers time ``index / fps`` seconds from the clip start."""

    index: int
    time: float
    values: np.ndarray  # float32 [61]
    head_translation: np.ndarray = field(default_factory=lambda: np.zeros(3, np.float32))


@dataclass
class MotionClip:
    """A take: ``values`` float32 [T, 61] in :data:`CHANNELS` order, ``head_translation`` float32 [T, 3].

    ``metadata`` records how the clip was made (animator and version, controls, audio hash, sample rate).
    """

    fps: int
    values: np.ndarray
    head_translation: np.ndarray = None  # type: ignore[assignment]  # None: zeros [T, 3], set in __post_init__
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.values = np.ascontiguousarray(self.values, dtype=np.float32)
        if self.head_translation is None:
            self.head_translation = np.zeros((len(self.values), 3), np.float32)
        self.head_translation = np.ascontiguousarray(self.head_translation, dtype=np.float32)
        validate(self)

    @property
    def channels(self) -> tuple[str, ...]:
        return CHANNELS

    @property
    def num_frames(self) -> int:
        return int(self.values.shape[0])

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps

    @property
    def times(self) -> np.ndarray:
        return np.arange(self.num_frames, dtype=np.float64) / self.fps

    def curve(self, name: str) -> np.ndarray:
        """The values of one channel over time, e.g. ``clip.curve("JawOpen")``."""
        return self.values[:, channel(name)]

    def frame(self, index: int) -> MotionFrame:
        return MotionFrame(index, index / self.fps, self.values[index], self.head_translation[index])

    def frames(self) -> list[MotionFrame]:
        return [self.frame(i) for i in range(self.num_frames)]

    @classmethod
    def from_frames(cls, fps: int, frames: list[MotionFrame], metadata: dict[str, Any] | None = None) -> MotionClip:
        values = np.stack([f.values for f in frames]) if frames else np.zeros((0, NUM_CHANNELS), np.float32)
        trans = np.stack([f.head_translation for f in frames]) if frames else np.zeros((0, 3), np.float32)
        return cls(fps, values, trans, dict(metadata or {}))


def validate(clip: MotionClip) -> None:
    """Raise :class:`InvalidInput` naming the problem when ``clip`` breaks the contract."""
    check_fps(clip.fps)
    if clip.values.ndim != 2 or clip.values.shape[1] != NUM_CHANNELS:
        raise InvalidInput(f"motion values must have shape [frames, {NUM_CHANNELS}], got {list(clip.values.shape)}")
    if clip.head_translation.shape != (clip.values.shape[0], 3):
        raise InvalidInput(f"head translation must have shape [{clip.values.shape[0]}, 3], "
                           f"got {list(clip.head_translation.shape)}")
    for name, array in (("motion values", clip.values), ("head translation", clip.head_translation)):
        bad = ~np.isfinite(array)
        if bad.any():
            frame = int(np.argwhere(bad)[0][0])
            raise InvalidInput(f"{name} contain NaN or infinity (first at frame {frame})")


def save_fcclip(clip: MotionClip, path: str | os.PathLike[str]) -> None:
    """Write ``clip`` as a versioned msgpack ``.fcclip`` file, atomically."""
    atomic_write_bytes(path, fcclip_bytes(clip))


def fcclip_bytes(clip: MotionClip) -> bytes:
    validate(clip)
    return msgpack.packb({
        "format": FCCLIP_FORMAT,
        "version": FCCLIP_VERSION,
        "fps": clip.fps,
        "channels": list(CHANNELS),
        "frames": clip.num_frames,
        "values": clip.values.astype("<f4").tobytes(),
        "head_translation": clip.head_translation.astype("<f4").tobytes(),
        "metadata": clip.metadata,
    }, use_bin_type=True)


def load_fcclip(path: str | os.PathLike[str]) -> MotionClip:
    """Read a ``.fcclip`` file, rejecting other versions, wrong shapes and NaN/inf with a clear message."""
    data, name = read_input(path, "clip")
    return fcclip_from_bytes(data, source=name)


def fcclip_from_bytes(data: bytes, source: str = "clip") -> MotionClip:
    doc = read_document(data, FCCLIP_FORMAT, FCCLIP_VERSION, ".fcclip", source)
    if list(doc.get("channels", [])) != list(CHANNELS):
        raise InvalidInput(f"{source} has channels that differ from the motion contract")
    frames = doc.get("frames")
    values, trans = doc.get("values", b""), doc.get("head_translation", b"")
    if (not isinstance(frames, int) or frames < 0 or len(values) != frames * NUM_CHANNELS * 4
            or len(trans) != frames * 12):
        raise InvalidInput(f"{source} is truncated or has wrong shapes")
    return MotionClip(
        fps=int(doc.get("fps", 0)),
        values=np.frombuffer(values, "<f4").reshape(frames, NUM_CHANNELS),
        head_translation=np.frombuffer(trans, "<f4").reshape(frames, 3),
        metadata=dict(doc.get("metadata") or {}),
    )
