"""Face regions for non-destructive baking: which channels each region owns, and its strength and smoothing.

A bake writes each enabled region into its own action on its own NLA track (``Facecast Mouth``, ...), so
re-baking one region replaces only that region's strip: the other regions' strips and every key the user
made (in the active action, which Blender evaluates above the NLA) stay as they are. No bpy here: the add-on's
glue (:mod:`facecast_blender.apply`) asks this module what to write and writes it.

Regions (by contract channel):

- ``mouth``: ``Jaw*``, ``Mouth*``, ``Cheek*``, ``Nose*``, ``TongueOut``: speech.
- ``eyes``: ``EyeBlink*``, ``EyeLook*``, ``EyeSquint*``, ``EyeWide*`` and the eye rotations.
- ``brows``: ``Brow*``.
- ``head``: the head rotation.

Strength scales a region's values (blendshape weights and rotation angles) towards neutral; smoothing is a
Gaussian of that many frames (sigma, at the take's rate) along time, edges held.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facecast.errors import InvalidInput
from facecast.motion import CHANNELS, NUM_BLENDSHAPES

REGIONS: tuple[tuple[str, str, str], ...] = (
    ("mouth", "Mouth & Jaw", "Jaw, mouth, cheek, nose and tongue shapes: the speech"),
    ("eyes", "Eyes & Blinks", "Blinks, eye looks, squints and widens, and the eye rotations"),
    ("brows", "Brows", "Brow shapes"),
    ("head", "Head", "The head rotation"),
)
REGION_NAMES = tuple(r[0] for r in REGIONS)
JOINT_REGION = {"Head": "head", "LeftEye": "eyes", "RightEye": "eyes"}
MAX_SMOOTHING = 10.0


def region_of(channel: str) -> str:
    """The region that owns a contract channel (blendshape or angle)."""
    if channel.startswith(("Brow",)):
        return "brows"
    if channel.startswith(("EyeBlink", "EyeLook", "EyeSquint", "EyeWide", "LeftEye", "RightEye")):
        return "eyes"
    if channel.startswith("Head"):
        return "head"
    return "mouth"


CHANNEL_REGION: tuple[str, ...] = tuple(region_of(name) for name in CHANNELS)


@dataclass(frozen=True)
class RegionSettings:
    """One region's part of a bake: baked at all, its strength (0..2) and smoothing (sigma in frames)."""

    name: str
    enabled: bool = True
    strength: float = 1.0
    smoothing: float = 0.0

    def checked(self) -> RegionSettings:
        if self.name not in REGION_NAMES:
            raise InvalidInput(f"unknown face region {self.name!r}; use one of {', '.join(REGION_NAMES)}")
        if not 0.0 <= self.strength <= 2.0:
            raise InvalidInput(f"{self.name} strength {self.strength} must be between 0 and 2")
        if not 0.0 <= self.smoothing <= MAX_SMOOTHING:
            raise InvalidInput(f"{self.name} smoothing {self.smoothing} must be between 0 and {MAX_SMOOTHING} frames")
        return self


def all_regions() -> list[RegionSettings]:
    return [RegionSettings(name) for name in REGION_NAMES]


def enabled(regions: list[RegionSettings]) -> list[RegionSettings]:
    """The regions to bake (checked); an error when none is enabled."""
    chosen = [r.checked() for r in regions if r.enabled]
    if not chosen:
        raise InvalidInput("no face region is enabled: tick at least one of Mouth & Jaw, Eyes & Blinks, Brows, Head")
    return chosen


def smooth(values: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing along axis 0 (frames) with ``sigma`` frames; the first and last frames are held."""
    values = np.asarray(values, np.float64)
    if sigma <= 0 or len(values) < 2:
        return values.astype(np.float32)
    radius = int(np.ceil(3 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.concatenate([np.repeat(values[:1], radius, 0), values, np.repeat(values[-1:], radius, 0)])
    out = np.empty_like(values)
    for column in range(values.shape[1]):
        out[:, column] = np.convolve(padded[:, column], kernel, mode="valid")
    return out.astype(np.float32)


def shaped_values(values: np.ndarray, region: RegionSettings) -> np.ndarray:
    """The take's ``values`` [T, 61] with ``region``'s smoothing and strength applied to its own channels only."""
    out = np.array(values, np.float32, copy=True)
    columns = [i for i, owner in enumerate(CHANNEL_REGION) if owner == region.name]
    shaped = smooth(out[:, columns], region.smoothing) * region.strength
    blendshape = np.array([c < NUM_BLENDSHAPES for c in columns])
    shaped[:, blendshape] = np.clip(shaped[:, blendshape], 0.0, 1.0)
    out[:, columns] = shaped
    return out


def region_bindings(bindings: list[tuple[int, str]], region: str) -> list[tuple[int, str]]:
    """The ``(channel, shape key)`` bindings of a mapping plan that belong to ``region``."""
    return [(channel, key) for channel, key in bindings if CHANNEL_REGION[channel] == region]
