"""Controls: what a user may ask of an animator besides the audio (all optional, all streamable).

Emotion names from other tools are accepted and mapped onto ours: NVIDIA Audio2Face-3D's ten emotions and
MetaHuman Animator's moods. Same audio + controls + seed gives the same motion.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from facecast.errors import InvalidInput, quoted

EMOTIONS: tuple[str, ...] = ("neutral", "happy", "sad", "angry", "surprised", "disgusted", "fearful")

# name -> (our emotion, intensity factor). Audio2Face-3D's ten first, then MetaHuman moods.
EMOTION_ALIASES: dict[str, tuple[str, float]] = {
    "amazement": ("surprised", 1.0),
    "anger": ("angry", 1.0),
    "cheekiness": ("happy", 0.6),
    "disgust": ("disgusted", 1.0),
    "fear": ("fearful", 1.0),
    "grief": ("sad", 1.0),
    "joy": ("happy", 1.0),
    "outofbreath": ("fearful", 0.4),
    "pain": ("disgusted", 0.8),
    "sadness": ("sad", 1.0),
    "surprise": ("surprised", 1.0),
    "confidence": ("happy", 0.4),
    "excitement": ("surprised", 0.6),
    "boredom": ("sad", 0.4),
    "playfulness": ("happy", 0.7),
    "confusion": ("fearful", 0.3),
    "calm": ("neutral", 1.0),
}

MAX_GAZE_RAD = math.radians(35)


def resolve_emotion(name: str) -> tuple[str, float]:
    """Map any accepted emotion name (case and spaces ignored) to ``(our emotion, intensity factor)``."""
    key = name.strip().lower().replace(" ", "").replace("_", "").replace("-", "")
    if key in EMOTIONS:
        return key, 1.0
    if key in EMOTION_ALIASES:
        return EMOTION_ALIASES[key]
    known = ", ".join(EMOTIONS + tuple(EMOTION_ALIASES))
    raise InvalidInput(f"unknown emotion {quoted(name)}; known emotions: {known}")


@dataclass(frozen=True)
class Controls:
    """How to animate. Every field has a sensible default; :meth:`validated` checks ranges.

    ``gaze`` is ``None`` for "look at the camera" or ``(yaw, pitch)`` in radians. ``head_motion``,
    ``intensity`` scale head movement and expression strength (1 = natural). ``blink_rate`` is blinks per
    minute (human range 8-21).
    """

    emotion: str = "neutral"
    emotion_intensity: float = 0.6
    gaze: tuple[float, float] | None = None
    head_motion: float = 1.0
    intensity: float = 1.0
    blink_rate: float = 15.0
    seed: int = 0

    def validated(self) -> Controls:
        """Return the controls with the emotion name mapped to ours, or raise :class:`InvalidInput`."""
        emotion, factor = resolve_emotion(self.emotion)
        checks = (
            ("emotion_intensity", self.emotion_intensity, 0.0, 1.0),
            ("head_motion", self.head_motion, 0.0, 3.0),
            ("intensity", self.intensity, 0.0, 2.0),
            ("blink_rate", self.blink_rate, 0.0, 60.0),
        )
        for name, value, low, high in checks:
            if not (isinstance(value, (int, float)) and math.isfinite(value) and low <= value <= high):
                raise InvalidInput(f"{name} must be a number in [{low:g}, {high:g}], not {value!r}")
        if self.gaze is not None and (
                len(self.gaze) != 2 or not all(math.isfinite(v) and abs(v) <= MAX_GAZE_RAD for v in self.gaze)):
            raise InvalidInput(f"gaze must be (yaw, pitch) in radians within ±{MAX_GAZE_RAD:.2f}, not {self.gaze!r}")
        if not isinstance(self.seed, int) or not 0 <= self.seed < 2**63:
            raise InvalidInput(f"seed must be a non-negative integer, not {self.seed!r}")
        return replace(self, emotion=emotion, emotion_intensity=self.emotion_intensity * factor)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Controls:
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise InvalidInput(f"unknown control(s): {', '.join(sorted(unknown))}")
        data = dict(data)
        if data.get("gaze") is not None:
            data["gaze"] = tuple(data["gaze"])
        return cls(**data)
