"""A take's reference video: the ARKit test head performing the take, drawn in software (numpy + Pillow).

The Live Link Face app's ``.mov`` shows the performer's face; a facecast take has no camera, so its ``.mov``
shows the shipped test head (:mod:`facecast.character.testhead`) with the take's blendshapes, head and eye
rotations, seen from the front as the phone sees a performer. Triangles are flat-shaded and drawn back to
front (painter's algorithm) after back-face culling: crude, dependency-free and fast enough for a take
(a few milliseconds a frame at the default size), never a substitute for a real render.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from facecast.character.joints import HEAD, LEFT_EYE, RIGHT_EYE, joint_rotations
from facecast.character.testhead import MeshData, build_test_head
from facecast.motion import BLENDSHAPES, NUM_BLENDSHAPES, MotionClip

FRAME_SIZE = (360, 640)  # width, height: portrait, as the app records with the phone upright
BACKGROUND = (38, 42, 50)
LIGHT = np.array([0.35, 0.45, 0.82]) / np.linalg.norm([0.35, 0.45, 0.82])  # from the upper left front
_RINGS, _SEGMENTS = 40, 40  # a coarser head than the exporters' 64 x 64: it is drawn one triangle at a time
_SPAN = 0.30  # metres of the scene across the frame's width


def _matrices(quats_xyzw: np.ndarray) -> np.ndarray:
    """Rotation matrices [T, 3, 3] of (x, y, z, w) quaternions."""
    x, y, z, w = np.moveaxis(quats_xyzw, -1, 0)
    return np.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
        2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
        2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
    ], axis=-1).reshape(-1, 3, 3)  # fmt: skip


def _srgb(linear: np.ndarray) -> np.ndarray:
    return np.clip(linear, 0.0, 1.0) ** (1 / 2.2)


class HeadCam:
    """Draws frames of the test head; one instance caches the mesh and the morph-target matrix."""

    def __init__(self, size: tuple[int, int] = FRAME_SIZE) -> None:
        self.size = size
        head = build_test_head(_RINGS, _SEGMENTS)
        self._mesh = head.mesh
        self._faces = head.mesh.indices.reshape(-1, 3).astype(np.int64)
        self._deltas = np.stack([head.targets[name] for name in BLENDSHAPES]).astype(np.float32)  # [52, V, 3]
        self._face_colors = _srgb(head.mesh.colors[self._faces].mean(axis=1)) if head.mesh.colors is not None \
            else np.full((len(self._faces), 3), 0.8)
        self._eyes = [(eye.name, np.asarray(eye.translation), eye.mesh) for eye in head.eyes]
        width, height = size
        self._scale = width / _SPAN
        self._centre = np.array([width / 2, height * 0.6])

    def frames(self, clip: MotionClip) -> Iterator[np.ndarray]:
        """RGB uint8 frames [H, W, 3], one per clip frame."""
        rotations = {joint: _matrices(joint_rotations(clip, joint)) for joint in (HEAD, LEFT_EYE, RIGHT_EYE)}
        for i in range(clip.num_frames):
            yield self.frame(clip.values[i], {joint: r[i] for joint, r in rotations.items()})

    def frame_of(self, clip: MotionClip, index: int) -> np.ndarray:
        """Frame ``index`` of ``clip`` alone (the take's thumbnail)."""
        one = MotionClip(clip.fps, clip.values[index:index + 1])
        return next(self.frames(one))

    def frame(self, values: np.ndarray, rotations: dict[str, np.ndarray]) -> np.ndarray:
        """One frame from the 61 contract values and the head and eye rotation matrices."""
        from PIL import Image, ImageDraw

        weights = np.clip(values[:NUM_BLENDSHAPES], 0.0, 1.0).astype(np.float32)
        skin = self._mesh.positions + np.tensordot(weights, self._deltas, axes=1)
        head = rotations[HEAD]
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = [(skin @ head.T, self._faces, self._face_colors)]
        for name, offset, mesh in self._eyes:
            ball = (mesh.positions @ rotations[name].T + offset) @ head.T
            parts.append((ball, mesh.indices.reshape(-1, 3).astype(np.int64), self._eye_colors(mesh)))
        image = Image.new("RGB", self.size, BACKGROUND)
        draw = ImageDraw.Draw(image)
        corners, shades = self._visible(parts)
        fills = [tuple(rgb) for rgb in shades.tolist()]
        for flat, fill in zip(corners.reshape(len(corners), 6).tolist(), fills, strict=True):
            draw.polygon(flat, fill=fill)  # plain lists: the per-triangle Python work is the cost here
        return np.asarray(image)

    @staticmethod
    def _eye_colors(mesh: MeshData) -> np.ndarray:
        faces = mesh.indices.reshape(-1, 3)
        return _srgb(mesh.colors[faces].mean(axis=1)) if mesh.colors is not None else np.full((len(faces), 3), 0.9)

    def _visible(self, parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        """Front-facing triangles in pixels [N, 3, 2] and their shaded colours [N, 3], farthest first."""
        corners, depths, shades = [], [], []
        for positions, faces, colors in parts:
            tri = positions[faces]  # [F, 3, 3]
            normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
            length = np.linalg.norm(normal, axis=1)
            front = (normal[:, 2] > 0) & (length > 0)
            normal = normal[front] / length[front, None]
            lambert = 0.25 + 0.75 * np.clip(normal @ LIGHT, 0.0, 1.0)
            shades.append((colors[front] * lambert[:, None] * 255).astype(np.uint8))
            pixels = self._centre + tri[front][..., :2] * np.array([self._scale, -self._scale])
            corners.append(pixels)
            depths.append(tri[front][..., 2].mean(axis=1))
        order = np.argsort(np.concatenate(depths), kind="stable")
        return np.concatenate(corners)[order], np.concatenate(shades)[order]
