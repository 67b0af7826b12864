"""Emotion poses: how each of our emotions shifts the upper face and the mouth corners at full intensity."""

from __future__ import annotations

import numpy as np

from facecast.controls import EMOTIONS, Controls
from facecast.motion import CHANNEL_INDEX, NUM_CHANNELS


def _pose(**weights: float) -> np.ndarray:
    pose = np.zeros(NUM_CHANNELS, np.float32)
    for name, value in weights.items():
        for side in ("Left", "Right") if name.endswith("_") else ("",):
            pose[CHANNEL_INDEX[name.rstrip("_") + side]] = value
    return pose


# A trailing underscore means "both sides".
EMOTION_POSES: dict[str, np.ndarray] = {
    "neutral": _pose(),
    "happy": _pose(MouthSmile_=0.65, CheekSquint_=0.35, EyeSquint_=0.2, BrowOuterUp_=0.1, MouthDimple_=0.2),
    "sad": _pose(BrowInnerUp=0.6, MouthFrown_=0.45, BrowDown_=0.1, MouthShrugLower=0.2, EyeSquint_=0.1),
    "angry": _pose(BrowDown_=0.7, EyeSquint_=0.35, NoseSneer_=0.3, MouthPress_=0.3, MouthFrown_=0.2),
    "surprised": _pose(BrowInnerUp=0.6, BrowOuterUp_=0.6, EyeWide_=0.55, JawOpen=0.1),
    "disgusted": _pose(NoseSneer_=0.6, MouthUpperUp_=0.35, BrowDown_=0.35, CheekSquint_=0.25, MouthFrown_=0.2),
    "fearful": _pose(BrowInnerUp=0.7, EyeWide_=0.45, MouthStretch_=0.35, BrowDown_=0.15),
}
assert set(EMOTION_POSES) == set(EMOTIONS)


def emotion_offset(controls: Controls) -> np.ndarray:
    """The channel offsets for ``controls`` (already validated): pose × emotion intensity × intensity."""
    return EMOTION_POSES[controls.emotion] * (controls.emotion_intensity * controls.intensity)
