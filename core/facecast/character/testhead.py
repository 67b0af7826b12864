"""The shipped ARKit test head: a small procedural head mesh with the 52 ARKit morph targets and two eyes.

It exists so that an export plays in any viewer without the user's own rig. The head is an ellipsoid (about
3,000 vertices); each blendshape is a displacement field authored per region of the face (a smooth Gaussian
falloff around a centre, moving the skin in one direction), so ``JawOpen`` drops the chin, ``EyeBlinkLeft``
lowers the left upper lid, ``MouthSmileLeft`` lifts the left mouth corner. Crude but readable.

Coordinates follow glTF (and the ARKit face frame): metres, +Y up, +Z out of the face towards the viewer,
+X to the character's own left. The head node's origin is the neck pivot, so head rotations turn about it.
Everything is numpy; the glTF, USD and Blender exporters all build from :func:`build_test_head`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from facecast.motion import BLENDSHAPES

HEAD_RADII = (0.075, 0.1, 0.09)  # x (half width), y (half height), z (half depth), metres
HEAD_CENTRE_Y = 0.11  # the skull centre above the neck pivot
EYE_RADIUS = 0.012
EYE_OFFSET = (0.032, 0.03, 0.071)  # left eye centre relative to the skull centre; the right one mirrors x
SKIN_COLOR = (0.86, 0.66, 0.55)
# Offsets below this (metres) are set to exactly zero, so each target moves only its region and exporters can
# store it sparsely (glTF sparse accessors, USD BlendShape pointIndices).
MIN_OFFSET = 1e-5

# name: (centre x, centre y on the face relative to the skull centre, falloff radius, displacement x, y, z).
# Centres are given for the left side (+x); "Right" shapes mirror x and the x displacement.
_L_EYE = EYE_OFFSET[0]
_REGIONS: dict[str, tuple[float, float, float, float, float, float]] = {
    "EyeBlinkLeft": (_L_EYE, 0.044, 0.010, 0.0, -0.013, 0.013),  # forward too: the lid covers the eyeball
    "EyeLookDownLeft": (_L_EYE, 0.042, 0.010, 0.0, -0.004, 0.0),
    "EyeLookInLeft": (_L_EYE, 0.040, 0.010, -0.003, 0.0, 0.0),
    "EyeLookOutLeft": (_L_EYE, 0.040, 0.010, 0.003, 0.0, 0.0),
    "EyeLookUpLeft": (_L_EYE, 0.042, 0.010, 0.0, 0.004, 0.0),
    "EyeSquintLeft": (_L_EYE, 0.018, 0.010, 0.0, 0.006, 0.001),
    "EyeWideLeft": (_L_EYE, 0.045, 0.011, 0.0, 0.006, 0.0),
    "JawForward": (0.0, -0.075, 0.035, 0.0, 0.0, 0.010),
    "JawLeft": (0.0, -0.075, 0.035, 0.010, 0.0, 0.0),
    "JawOpen": (0.0, -0.046, 0.045, 0.0, -0.022, -0.006),  # y: the lip line; radius: jaw half-width
    "MouthClose": (0.0, -0.050, 0.012, 0.0, 0.006, 0.0),
    "MouthFunnel": (0.0, -0.045, 0.016, 0.0, 0.0, 0.010),
    "MouthPucker": (0.0, -0.045, 0.014, 0.0, 0.0, 0.012),
    "MouthLeft": (0.0, -0.045, 0.018, 0.009, 0.0, 0.0),
    "MouthSmileLeft": (0.022, -0.043, 0.010, 0.006, 0.010, -0.003),
    "MouthFrownLeft": (0.022, -0.047, 0.010, 0.002, -0.009, 0.0),
    "MouthDimpleLeft": (0.026, -0.045, 0.009, 0.004, 0.0, -0.004),
    "MouthStretchLeft": (0.024, -0.047, 0.010, 0.008, -0.003, 0.0),
    "MouthRollLower": (0.0, -0.050, 0.010, 0.0, 0.002, -0.006),
    "MouthRollUpper": (0.0, -0.038, 0.010, 0.0, -0.002, -0.006),
    "MouthShrugLower": (0.0, -0.056, 0.012, 0.0, 0.005, 0.003),
    "MouthShrugUpper": (0.0, -0.036, 0.012, 0.0, 0.004, 0.002),
    "MouthPressLeft": (0.012, -0.046, 0.009, 0.0, 0.002, -0.003),
    "MouthLowerDownLeft": (0.010, -0.052, 0.010, 0.0, -0.008, 0.0),
    "MouthUpperUpLeft": (0.010, -0.036, 0.010, 0.0, 0.008, 0.0),
    "BrowDownLeft": (0.040, 0.062, 0.013, 0.0, -0.008, 0.0),
    "BrowInnerUp": (0.0, 0.062, 0.016, 0.0, 0.010, 0.0),
    "BrowOuterUpLeft": (0.045, 0.064, 0.013, 0.0, 0.010, 0.0),
    "CheekPuff": (0.0, -0.030, 0.030, 0.0, 0.0, 0.0),  # puffs outwards along the normal, see _displacement
    "CheekSquintLeft": (0.036, 0.000, 0.013, 0.0, 0.007, 0.0),
    "NoseSneerLeft": (0.011, 0.002, 0.008, 0.0, 0.006, 0.0),
    "TongueOut": (0.0, -0.046, 0.010, 0.0, -0.003, 0.014),
}  # fmt: skip


@dataclass
class MeshData:
    """One triangle mesh: float32 positions and normals [V, 3], uint32 triangle indices [F * 3]."""

    positions: np.ndarray
    normals: np.ndarray
    indices: np.ndarray
    colors: np.ndarray | None = None  # float32 [V, 3] vertex colours, or None for a plain material


@dataclass
class EyeNode:
    """An eyeball parented to the head: its translation from the head node and its mesh (iris towards +Z)."""

    name: str
    translation: tuple[float, float, float]
    mesh: MeshData


@dataclass
class TestHead:
    """The head mesh, its morph targets (ARKit name -> float32 position deltas [V, 3]) and eye nodes."""

    mesh: MeshData
    targets: dict[str, np.ndarray]
    eyes: list[EyeNode] = field(default_factory=list)

    @property
    def target_names(self) -> list[str]:
        return list(self.targets)


def uv_sphere(radii: tuple[float, float, float], rings: int, segments: int) -> MeshData:
    """An ellipsoid as a UV sphere with poles on the y axis; normals are the ellipsoid's true normals."""
    theta = np.linspace(0.0, np.pi, rings + 1)[1:-1]  # polar angle from +Y, poles added separately
    phi = np.linspace(0.0, 2 * np.pi, segments, endpoint=False)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    unit = np.stack([np.sin(t) * np.sin(p), np.cos(t), np.sin(t) * np.cos(p)], axis=-1).reshape(-1, 3)
    unit = np.vstack([[0.0, 1.0, 0.0], unit, [0.0, -1.0, 0.0]])
    radii_arr = np.asarray(radii, np.float64)
    positions = unit * radii_arr
    normals = unit / radii_arr
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    ring = lambda r: 1 + r * segments + np.arange(segments)  # vertex ids of ring r
    tris = []
    top, bottom = 0, len(positions) - 1
    first, last = ring(0), ring(rings - 2)
    tris += [np.stack([np.full(segments, top), first, np.roll(first, -1)], axis=1)]
    for r in range(rings - 2):
        a, b = ring(r), ring(r + 1)
        a2, b2 = np.roll(a, -1), np.roll(b, -1)
        tris += [np.stack([a, b, b2], axis=1), np.stack([a, b2, a2], axis=1)]
    tris += [np.stack([np.full(segments, bottom), np.roll(last, -1), last], axis=1)]
    indices = np.concatenate(tris).astype(np.uint32).ravel()
    return MeshData(positions.astype(np.float32), normals.astype(np.float32), indices)


def _displacement(name: str, skull: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """Position deltas of one blendshape on the skull-centred vertices."""
    mirror = name not in _REGIONS  # a "...Right" shape mirrors its "...Left" twin across x = 0
    cx, cy, radius, dx, dy, dz = _REGIONS[name.removesuffix("Right") + "Left" if mirror else name]
    if mirror:
        cx, dx = -cx, -dx
    front = np.clip(0.5 + normals[:, 2], 0.0, 1.0)  # the face side moves, the back of the head never does
    if name == "JawOpen":  # everything below the lip line drops, more the further below, so the mouth parts
        below = np.clip((cy - skull[:, 1]) / 0.012, 0.0, 1.0) * np.exp(-skull[:, 0] ** 2 / (2 * radius**2))
        return ((below * front)[:, None] * np.array([dx, dy, dz])).astype(np.float32)
    if name == "CheekPuff":  # both cheeks swell along the surface normal
        cheeks = sum(np.exp(-((skull[:, 0] - side * 0.045) ** 2 + (skull[:, 1] - cy) ** 2) / (2 * radius**2 / 4))
                     for side in (-1.0, 1.0))
        return (normals * (0.010 * cheeks * front)[:, None]).astype(np.float32)
    weight = np.exp(-((skull[:, 0] - cx) ** 2 + (skull[:, 1] - cy) ** 2) / (2 * radius**2)) * front
    return (weight[:, None] * np.array([dx, dy, dz])).astype(np.float32)


def vertex_normals(positions: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Area-weighted vertex normals of a triangle mesh."""
    tris = positions[indices.reshape(-1, 3)].astype(np.float64)
    face = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    normals = np.zeros_like(positions, dtype=np.float64)
    for corner in range(3):
        np.add.at(normals, indices.reshape(-1, 3)[:, corner], face)
    return (normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def _gaussian(points: np.ndarray, cx: float, cy: float, sx: float, sy: float) -> np.ndarray:
    return np.exp(-(((points[:, 0] - cx) / sx) ** 2 + ((points[:, 1] - cy) / sy) ** 2) / 2)


def _face_features(skull: MeshData) -> tuple[np.ndarray, np.ndarray]:
    """A nose bump on the skull, and vertex colours (skin, lips, mouth line, brows) so expressions read."""
    p = skull.positions.astype(np.float64)
    front = np.clip(skull.normals[:, 2], 0.0, 1.0)
    nose = 0.018 * _gaussian(p, 0.0, -0.008, 0.008, 0.016) * front
    positions = (p + skull.normals * nose[:, None]).astype(np.float32)
    colors = np.tile(np.asarray(SKIN_COLOR), (len(p), 1))
    lips = np.clip(1.6 * _gaussian(p, 0.0, -0.045, 0.016, 0.006), 0, 1) * front
    colors += lips[:, None] * (np.array([0.62, 0.25, 0.25]) - colors)
    seam = np.clip(2.0 * _gaussian(p, 0.0, -0.045, 0.014, 0.0022), 0, 1) * front
    colors += seam[:, None] * (np.array([0.18, 0.05, 0.05]) - colors)
    for side in (-1.0, 1.0):
        brow = np.clip(2.0 * _gaussian(p, side * 0.036, 0.062, 0.012, 0.0035), 0, 1) * front
        colors += brow[:, None] * (np.array([0.25, 0.16, 0.1]) - colors)
    return positions, (colors**2.2).astype(np.float32)  # authored in sRGB; glTF and USD colours are linear


@functools.lru_cache(maxsize=4)
def _cached_head(rings: int, segments: int, with_eyes: bool) -> TestHead:
    skull = uv_sphere(HEAD_RADII, rings, segments)
    targets = {name: _displacement(name, skull.positions.astype(np.float64), skull.normals) for name in BLENDSHAPES}
    for delta in targets.values():
        delta[np.abs(delta).max(axis=1) < MIN_OFFSET] = 0.0
    positions, colors = _face_features(skull)
    positions += np.array([0.0, HEAD_CENTRE_Y, 0.0], np.float32)
    mesh = MeshData(positions, vertex_normals(positions, skull.indices), skull.indices, colors)
    eyes = []
    if with_eyes:
        for name, side in (("LeftEye", 1.0), ("RightEye", -1.0)):
            ball = uv_sphere((EYE_RADIUS,) * 3, 12, 16)
            iris = ball.positions[:, 2] > 0.75 * EYE_RADIUS  # the dark iris faces +Z at rest
            colors = np.where(iris[:, None], [0.12, 0.08, 0.05], [0.95, 0.95, 0.93]).astype(np.float32)
            translation = (side * EYE_OFFSET[0], HEAD_CENTRE_Y + EYE_OFFSET[1], EYE_OFFSET[2])
            eyes.append(EyeNode(name, translation, MeshData(ball.positions, ball.normals, ball.indices, colors)))
    return TestHead(mesh, targets, eyes)


def build_test_head(rings: int = 64, segments: int = 64, with_eyes: bool = True) -> TestHead:
    """The ARKit test head (about ``rings * segments`` vertices) with its 52 morph targets in contract order.

    The result is shared between calls with the same arguments: treat its arrays as read-only.
    """
    return _cached_head(rings, segments, with_eyes)
