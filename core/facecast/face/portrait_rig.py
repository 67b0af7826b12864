"""The portrait rig: the ARKit rig on the 468-point mesh of a 2-D portrait (52 blendshapes as displacement fields,
head rotation and eye gaze). For 3-D characters' shape keys see :mod:`facecast.character.rig_mapping`.

Each blendshape is authored here, procedurally, from the fitted face itself: in face axes (u towards the
subject's left, v down, w towards the camera; origin between the outer eye corners; unit = inter-ocular
distance) a few handle points get a displacement (a blink moves the upper lid onto the lower lid of *this*
face, JawOpen turns everything below the mouth line about a jaw hinge) and a Gaussian falloff carries it to the
skin around them. Lip shapes spread separately above and below the mouth line, so a closed mouth still opens.
A face with weights ``w`` is ``rest + sum_k w_k * basis[k]``, then head rotation about a pivot behind the face.

Signs (all radians): HeadYaw > 0 turns the nose towards the subject's left (the image's right), HeadPitch > 0
nods the nose down, HeadRoll > 0 tips the top of the head towards the subject's left. Eye yaw > 0 looks
towards the subject's left, eye pitch > 0 looks down (as :mod:`facecast.animators.idle` writes them).
The 468-point mesh has no irises: :meth:`Rig.iris` moves an iris centre estimated from the eye contour.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import cv2
import numpy as np

from facecast.errors import InvalidInput
from facecast.face import topology as T
from facecast.motion import BLENDSHAPES, CHANNEL_INDEX, NUM_BLENDSHAPES, NUM_CHANNELS

NUM_POINTS = 468
JAW_OPEN_RAD = 0.35  # jaw rotation at JawOpen = 1 (about 20 degrees: a wide-open mouth)
EYEBALL_RADIUS = 0.13  # in inter-ocular units (12 mm of a 95 mm outer-corner distance)
IRIS_RADIUS = 0.062
HEAD_PIVOT = np.array([0.0, 0.55, -1.0])  # face axes: below the eye line, deep behind the face (top of the neck)
_HEAD = [CHANNEL_INDEX[n] for n in ("HeadYaw", "HeadPitch", "HeadRoll")]
_EYES = [(CHANNEL_INDEX[f"{side}EyeYaw"], CHANNEL_INDEX[f"{side}EyePitch"]) for side in ("Left", "Right")]


@dataclass(frozen=True)
class FaceFrame:
    """Face axes of a mesh: ``origin`` [3] (pixels), ``axes`` [3, 3] rows u, v, w, ``scale`` pixels per unit."""

    origin: np.ndarray
    axes: np.ndarray
    scale: float

    def to_face(self, points: np.ndarray) -> np.ndarray:
        return (points - self.origin) @ self.axes.T / self.scale

    def to_image(self, points: np.ndarray) -> np.ndarray:
        return points * self.scale @ self.axes + self.origin


def face_frame(points: np.ndarray) -> FaceFrame:
    """Face axes from the outer eye corners (u) and the chin (v, made orthogonal to u); w = u x v."""
    points = points.astype(np.float64)
    left, right = points[T.LEFT_EYE_OUTER], points[T.RIGHT_EYE_OUTER]
    scale = float(np.linalg.norm(left - right))
    if not np.isfinite(scale) or scale < 1e-6:
        raise InvalidInput("the face landmarks are degenerate (the eye corners coincide)")
    origin = (left + right) / 2
    u = (left - right) / scale
    down = points[T.CHIN] - origin
    v = down - (down @ u) * u
    v /= np.linalg.norm(v)
    return FaceFrame(origin, np.stack([u, v, np.cross(u, v)]), scale)


def rotation(yaw: np.ndarray, pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """Rotation matrices [..., 3, 3] in face axes for the sign conventions of the module docstring."""
    cy, sy, cp, sp, cr, sr = np.cos(yaw), np.sin(yaw), np.cos(pitch), np.sin(pitch), np.cos(roll), np.sin(roll)
    one, zero = np.ones_like(yaw), np.zeros_like(yaw)
    r_yaw = np.stack([np.stack([cy, zero, sy], -1), np.stack([zero, one, zero], -1),
                      np.stack([-sy, zero, cy], -1)], -2)  # front (w) turns towards +u
    r_pitch = np.stack([np.stack([one, zero, zero], -1), np.stack([zero, cp, sp], -1),
                        np.stack([zero, -sp, cp], -1)], -2)  # front turns towards +v (down)
    r_roll = np.stack([np.stack([cr, -sr, zero], -1), np.stack([sr, cr, zero], -1),
                       np.stack([zero, zero, one], -1)], -2)  # top (-v) turns towards +u
    return r_roll @ r_pitch @ r_yaw


class Rig:
    """Blendshape basis and pose for any fitted face; bases are cached per rest shape."""

    def __init__(self, cache_size: int = 8) -> None:
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()  # the daemon shares rigs between request threads

    def basis(self, rest: np.ndarray) -> np.ndarray:
        """Displacement of each of the 52 blendshapes at full weight, float32 [52, 468, 3] in image pixels."""
        rest = _check_rest(rest)
        key = rest.tobytes()
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        frame = face_frame(rest)
        basis = (author_blendshapes(frame.to_face(rest)) * frame.scale @ frame.axes).astype(np.float32)
        with self._lock:
            self._cache[key] = basis
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return basis

    def deform(self, rest: np.ndarray, values: np.ndarray) -> np.ndarray:
        """The mesh moved by ``values``: [52] blendshape weights or [61] channels (with head rotation), or a
        [T, 52] / [T, 61] batch; returns float32 [468, 3] or [T, 468, 3] in the rest's pixel coordinates."""
        rest = _check_rest(rest)
        weights, batch = _as_batch(values)
        moved = rest[None].astype(np.float32) + np.einsum("tk,kpc->tpc", weights[:, :NUM_BLENDSHAPES],
                                                          self.basis(rest), optimize=True)
        if weights.shape[1] == NUM_CHANNELS:
            moved = self._rotate_head(rest, moved, weights[:, _HEAD])
        return moved if batch else moved[0]

    def iris(self, rest: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Iris centres [2, 3] (or [T, 2, 3]): subject's left eye, then right, turned by the eye yaw/pitch
        channels (and the head's rotation) when ``values`` has all 61 channels."""
        rest = _check_rest(rest)
        weights, batch = _as_batch(values)
        frame = face_frame(rest)
        centres = frame.to_face(np.stack([rest[list(T.LEFT_EYE_UPPER + T.LEFT_EYE_LOWER)].mean(0),
                                          rest[list(T.RIGHT_EYE_UPPER + T.RIGHT_EYE_LOWER)].mean(0)]))
        irises = np.repeat(centres[None], len(weights), 0)
        if weights.shape[1] == NUM_CHANNELS:
            for eye, (yaw, pitch) in enumerate(_EYES):
                irises[:, eye, 0] += EYEBALL_RADIUS * np.sin(weights[:, yaw])
                irises[:, eye, 1] += EYEBALL_RADIUS * np.sin(weights[:, pitch])
            turn = rotation(*(weights[:, i].astype(np.float64) for i in _HEAD))
            irises = np.einsum("tij,tpj->tpi", turn, irises - HEAD_PIVOT) + HEAD_PIVOT
        out = frame.to_image(irises).astype(np.float32)
        return out if batch else out[0]

    def iris_radius(self, rest: np.ndarray) -> float:
        """Estimated iris radius in pixels (the 468-point mesh has no iris points)."""
        return float(IRIS_RADIUS * face_frame(_check_rest(rest)).scale)

    @staticmethod
    def _rotate_head(rest: np.ndarray, moved: np.ndarray, angles: np.ndarray) -> np.ndarray:
        if not np.any(angles):
            return moved
        frame = face_frame(rest)
        local = frame.to_face(moved.astype(np.float64)) - HEAD_PIVOT
        turn = rotation(angles[:, 0].astype(np.float64), angles[:, 1].astype(np.float64),
                        angles[:, 2].astype(np.float64))
        return frame.to_image(np.einsum("tij,tpj->tpi", turn, local) + HEAD_PIVOT).astype(np.float32)


def _check_rest(rest: np.ndarray) -> np.ndarray:
    rest = np.asarray(rest, dtype=np.float32)
    if rest.shape != (NUM_POINTS, 3) or not np.isfinite(rest).all():
        raise InvalidInput(f"rest landmarks must be a finite [468, 3] array, got shape {list(rest.shape)}")
    return rest


def _as_batch(values: np.ndarray) -> tuple[np.ndarray, bool]:
    array = np.asarray(values, dtype=np.float32)
    batch = array.ndim == 2
    array = array if batch else array[None]
    if array.ndim != 2 or array.shape[1] not in (NUM_BLENDSHAPES, NUM_CHANNELS):
        raise InvalidInput(f"rig values must be [52] or [61] (or [T, 52] / [T, 61]), got {list(np.shape(values))}")
    return array, batch


# ---------------------------------------------------------------------------------------------------------
# Authoring: everything below works in face axes (u, v, w), in units of the inter-ocular distance.


def spread(q: np.ndarray, handles: list[int] | np.ndarray, moves: np.ndarray, radius: float,
           region: np.ndarray | None = None) -> np.ndarray:
    """A displacement field [468, 3]: ``handles`` move exactly by ``moves`` [n, 3]; other points in ``region``
    (bool [468], default all) follow a Gaussian-weighted average of nearby handles that fades with distance."""
    handles = np.asarray(handles, int)
    moves = np.broadcast_to(np.asarray(moves, np.float64), (len(handles), 3))
    dist = np.linalg.norm(q[:, None, :] - q[None, handles, :], axis=2)
    weight = np.exp(-((dist / radius) ** 2))
    if region is not None:
        weight *= region[:, None]
    field = weight @ moves / np.maximum(weight.sum(1, keepdims=True), 1.0)
    field[handles] = moves
    return field


def smoothstep(x: np.ndarray) -> np.ndarray:
    """0 below 0, 1 above 1, and the cubic 3x² − 2x³ between (flat at both ends)."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _inside(q: np.ndarray, contour: list[int]) -> np.ndarray:
    """Points whose (u, v) lie inside or on the polygon through ``contour``."""
    polygon = (q[contour, :2] * 1000).astype(np.float32)
    return np.array([cv2.pointPolygonTest(polygon, (float(x) * 1000, float(y) * 1000), True) >= -2.0
                     for x, y in q[:, :2]])


class _Face:
    """Measurements of one face (in face axes) that the blendshapes are authored from."""

    def __init__(self, q: np.ndarray) -> None:
        self.q = q
        self.mouth_u = (q[T.MOUTH_CORNER_LEFT, 0] + q[T.MOUTH_CORNER_RIGHT, 0]) / 2
        self.mouth_v = (q[T.MOUTH_CORNER_LEFT, 1] + q[T.MOUTH_CORNER_RIGHT, 1]) / 2
        self.half_width = (q[T.MOUTH_CORNER_LEFT, 0] - q[T.MOUTH_CORNER_RIGHT, 0]) / 2
        corners = {T.MOUTH_CORNER_LEFT, T.MOUTH_CORNER_RIGHT, T.LIPS_INNER_UPPER[0], T.LIPS_INNER_UPPER[-1]}
        upper = _inside(q, list(T.LIPS_OUTER_UPPER) + list(T.LIPS_INNER_UPPER[::-1]))
        lower = _inside(q, list(T.LIPS_OUTER_LOWER) + list(T.LIPS_INNER_LOWER[::-1]))
        upper[list(T.LIPS_OUTER_UPPER + T.LIPS_INNER_UPPER)] = True
        lower[list(T.LIPS_OUTER_LOWER + T.LIPS_INNER_LOWER)] = True
        upper[list(T.LIPS_INNER_LOWER)] = False
        lower[list(T.LIPS_INNER_UPPER)] = False
        for c in corners:
            upper[c] = lower[c] = False
        self.corners = np.array(sorted(corners))
        self.upper_lip, self.lower_lip = np.flatnonzero(upper), np.flatnonzero(lower)
        self.lips = np.concatenate([self.upper_lip, self.lower_lip, self.corners])
        self.mouth_area = q[:, 1] > q[T.SUBNASALE, 1]  # mouth shapes leave the nose alone
        self.above_mouth = (q[:, 1] <= self.mouth_v) & ~lower
        self.below_mouth = (q[:, 1] > self.mouth_v) & ~upper
        across = (q[:, 0] - self.mouth_u) / self.half_width
        self.centre = np.clip(1 - across**2, 0, 1)  # 1 at the lip middle, 0 at the corners
        self.flat_centre = np.clip(1 - across**4, 0, 1)
        self.left = np.clip(0.5 + 0.5 * across, 0, 1)  # 1 at the subject's left mouth corner
        self.jaw = self._jaw_weight(q, upper, lower)
        self.eye_region = {
            side: np.linalg.norm(q - q[list(up + low)].mean(0), axis=1) < 0.32
            for side, up, low in (("Left", T.LEFT_EYE_UPPER, T.LEFT_EYE_LOWER),
                                  ("Right", T.RIGHT_EYE_UPPER, T.RIGHT_EYE_LOWER))
        }
        self.brow_region = q[:, 1] < 0.5 * (q[list(T.LEFT_EYE_UPPER), 1].min() + q[list(T.LEFT_BROW), 1].max())

    def _jaw_weight(self, q: np.ndarray, upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
        """How much each point follows the jaw: 1 below the mouth, 0 above; a ramp on the cheeks beside it."""
        beside = np.clip((np.abs(q[:, 0] - self.mouth_u) - self.half_width) / 0.2, 0, 1)
        under = (q[:, 1] > self.mouth_v).astype(float)
        ramp = smoothstep((q[:, 1] - (self.mouth_v - 0.15)) / 0.4)
        weight = (1 - beside) * under + beside * ramp
        weight[upper] = 0.0
        weight[lower] = 1.0
        weight[self.corners] = 0.5
        return weight

    def side(self, name: str) -> np.ndarray:
        """Per-point weight of one side of the mouth (``"Left"`` or ``"Right"``)."""
        return self.left if name == "Left" else 1 - self.left

    def lip_field(self, upper_moves: np.ndarray, lower_moves: np.ndarray, corner_moves: np.ndarray,
                  radius: float) -> np.ndarray:
        """A lip shape: upper and lower lip spread only to the skin on their own side of the mouth line."""
        above = spread(self.q, np.r_[self.upper_lip, self.corners],
                       np.r_[upper_moves[self.upper_lip], corner_moves[self.corners]], radius,
                       self.above_mouth & self.mouth_area)
        below = spread(self.q, np.r_[self.lower_lip, self.corners],
                       np.r_[lower_moves[self.lower_lip], corner_moves[self.corners]], radius, self.below_mouth)
        return np.where(self.above_mouth[:, None], above, below)


def author_blendshapes(q: np.ndarray) -> np.ndarray:
    """The 52 displacement fields [52, 468, 3] (face axes, inter-ocular units) for a face ``q`` [468, 3]."""
    face = _Face(q)
    fields = {}
    fields.update(_jaw_shapes(face))
    fields.update(_lip_shapes(face, fields["JawOpen"]))
    for side in ("Left", "Right"):
        fields.update(_eye_shapes(face, side))
        fields.update(_mouth_side_shapes(face, side))
        fields.update(_brow_cheek_nose_shapes(face, side))
    fields["BrowInnerUp"] = _brow_raise(face, "Left", inner=True) + _brow_raise(face, "Right", inner=True)
    fields["CheekPuff"] = _cheek_puff(face)
    fields["TongueOut"] = 0.25 * fields["JawOpen"] + face.lip_field(
        np.zeros_like(q), np.tile([0.0, 0.03, 0.05], (len(q), 1)), np.zeros_like(q), 0.1)
    missing = set(BLENDSHAPES) - set(fields)
    assert not missing, f"blendshapes without a field: {missing}"
    return np.stack([fields[name] for name in BLENDSHAPES])


def _jaw_shapes(face: _Face) -> dict[str, np.ndarray]:
    q = face.q
    hinge = np.array([0.0, 0.45, q[T.CHIN, 2] - 0.95])
    c, s = np.cos(JAW_OPEN_RAD), np.sin(JAW_OPEN_RAD)
    rel = q - hinge
    opened = np.stack([rel[:, 0], c * rel[:, 1] + s * rel[:, 2], -s * rel[:, 1] + c * rel[:, 2]], 1)
    jaw = face.jaw[:, None]
    return {
        "JawOpen": jaw * (opened - rel),
        "JawForward": jaw * np.array([0.0, -0.01, 0.1]),
        "JawLeft": jaw * np.array([0.12, 0.0, 0.0]),
        "JawRight": jaw * np.array([-0.12, 0.0, 0.0]),
    }


def _lip_shapes(face: _Face, jaw_open: np.ndarray) -> dict[str, np.ndarray]:
    q, zero = face.q, np.zeros_like(face.q)
    inward = np.zeros_like(q)
    inward[:, 0] = -(q[:, 0] - face.mouth_u)
    centre = face.centre[:, None]

    def along(moves: np.ndarray, weight: np.ndarray) -> np.ndarray:
        return moves * weight[:, None]

    def roll(outer: tuple[int, ...], inner: tuple[int, ...], back: float) -> np.ndarray:
        moves = np.zeros_like(q)
        moves[list(outer[1:-1])] = 0.6 * (q[list(inner[1:-1])] - q[list(outer[1:-1])]) + [0, 0, -back]
        moves[list(inner[1:-1])] = [0.0, 0.0, -back]
        return moves

    gap_close = 0.5 * jaw_open[T.LOWER_LIP_MID]
    shapes = {
        "MouthClose": face.lip_field(along(np.tile(gap_close, (len(q), 1)), face.centre),
                                     -0.5 * jaw_open * centre, zero, 0.08),
        "MouthFunnel": face.lip_field(0.25 * inward + centre * [0, -0.06, 0.08],
                                      0.25 * inward + centre * [0, 0.06, 0.08], 0.25 * inward + [0, 0, 0.03], 0.15),
        "MouthPucker": face.lip_field(0.35 * inward + (0.5 + 0.5 * centre) * [0, 0, 0.1],
                                      0.35 * inward + (0.5 + 0.5 * centre) * [0, 0, 0.1],
                                      0.35 * inward + [0, 0, 0.03], 0.2),
        "MouthRollLower": face.lip_field(zero, roll(T.LIPS_OUTER_LOWER, T.LIPS_INNER_LOWER, 0.04), zero, 0.1),
        "MouthRollUpper": face.lip_field(roll(T.LIPS_OUTER_UPPER, T.LIPS_INNER_UPPER, 0.04), zero, zero, 0.1),
        "MouthShrugUpper": face.lip_field((0.5 + 0.5 * centre) * [0, -0.04, 0.02], zero, zero, 0.12),
    }
    shrug_lower = face.lip_field(zero, (0.5 + 0.5 * centre) * [0, -0.06, 0.02], zero, 0.2)
    chin = spread(q, [T.CHIN], np.array([[0.0, -0.04, 0.02]]), 0.3, face.below_mouth & ~np.isin(
        np.arange(len(q)), face.lower_lip))
    shapes["MouthShrugLower"] = shrug_lower + chin
    for side, sign in (("Left", 1.0), ("Right", -1.0)):
        shapes[f"Mouth{side}"] = spread(q, face.lips, np.tile([0.12 * sign, 0, 0], (len(face.lips), 1)), 0.25,
                                        face.mouth_area)
    return shapes


def _mouth_side_shapes(face: _Face, side: str) -> dict[str, np.ndarray]:
    q, zero = face.q, np.zeros_like(face.q)
    sign = 1.0 if side == "Left" else -1.0
    weight = face.side(side)
    corner_weight = weight**3

    def corner_pull(move: list[float], radius: float) -> np.ndarray:
        moves = np.outer(corner_weight, [sign * move[0], move[1], move[2]])
        return spread(q, face.lips, moves[face.lips], radius, face.mouth_area)

    press = np.zeros_like(q)
    for outer, inner in ((T.LIPS_OUTER_UPPER, T.LIPS_INNER_UPPER), (T.LIPS_OUTER_LOWER, T.LIPS_INNER_LOWER)):
        press[list(outer)] = 0.35 * (q[list(inner)] - q[list(outer)])
    press *= weight[:, None]
    cheek = T.LEFT_CHEEK if side == "Left" else T.RIGHT_CHEEK
    smile = corner_pull([0.10, -0.10, -0.02], 0.2) + spread(q, [cheek], np.array([[0.03 * sign, -0.06, 0.02]]),
                                                            0.15, face.above_mouth)
    local = (weight * face.flat_centre)[:, None]
    return {
        f"MouthSmile{side}": smile,
        f"MouthFrown{side}": corner_pull([0.03, 0.08, 0.0], 0.2),
        f"MouthDimple{side}": corner_pull([0.05, -0.01, -0.04], 0.15),
        f"MouthStretch{side}": corner_pull([0.09, 0.04, -0.02], 0.2),
        f"MouthPress{side}": face.lip_field(press, press, zero, 0.08),
        f"MouthLowerDown{side}": face.lip_field(zero, local * [0, 0.08, 0], zero, 0.15),
        f"MouthUpperUp{side}": face.lip_field(local * [0, -0.07, 0.01], zero, zero, 0.12),
    }


def _eye_shapes(face: _Face, side: str) -> dict[str, np.ndarray]:
    q = face.q
    upper, lower = (T.LEFT_EYE_UPPER, T.LEFT_EYE_LOWER) if side == "Left" else (T.RIGHT_EYE_UPPER, T.RIGHT_EYE_LOWER)
    up, low = list(upper[1:-1]), list(lower[1:-1])  # the corners stay put
    gap = q[low] - q[up]  # from each upper-lid point to the lower-lid point under it
    region = face.eye_region[side]
    nose_ward = -1.0 if side == "Left" else 1.0  # the inner corner lies towards the nose: -u for the left eye

    def lids(upper_share: float, lower_share: float, radius: float = 0.06) -> np.ndarray:
        """Upper lid moves ``upper_share`` of the lid gap down, lower lid ``lower_share`` of it up."""
        return spread(q, up + low, np.r_[upper_share * gap, -lower_share * gap], radius, region)

    def shift(amount: float) -> np.ndarray:
        return spread(q, up + low, np.tile([amount, 0, 0], (len(up + low), 1)), 0.06, region)

    cheek = T.LEFT_CHEEK if side == "Left" else T.RIGHT_CHEEK
    return {
        f"EyeBlink{side}": lids(0.88, 0.12),
        f"EyeSquint{side}": lids(0.1, 0.3) + spread(q, [cheek], np.array([[0, -0.02, 0]]), 0.12),
        f"EyeWide{side}": lids(-0.35, -0.05),
        f"EyeLookUp{side}": lids(-0.15, 0.05),
        f"EyeLookDown{side}": lids(0.25, -0.05),
        f"EyeLookIn{side}": shift(0.015 * nose_ward),
        f"EyeLookOut{side}": shift(-0.015 * nose_ward),
    }


def _brow_raise(face: _Face, side: str, inner: bool) -> np.ndarray:
    brow = list(T.LEFT_BROW if side == "Left" else T.RIGHT_BROW)
    along = np.tile(np.linspace(0, 1, 5), 2)  # outer -> inner, for both rows
    share = along if inner else 1 - along
    return spread(face.q, brow, np.outer(share, [0, -0.08, 0]), 0.15, face.brow_region)


def _brow_cheek_nose_shapes(face: _Face, side: str) -> dict[str, np.ndarray]:
    q = face.q
    sign = 1.0 if side == "Left" else -1.0
    brow = list(T.LEFT_BROW if side == "Left" else T.RIGHT_BROW)
    inner_share = np.tile(np.linspace(0.4, 1, 5), 2)
    brow_down = np.stack([-0.03 * sign * inner_share, 0.06 * np.ones(10), np.zeros(10)], 1)
    cheek = T.LEFT_CHEEK if side == "Left" else T.RIGHT_CHEEK
    lower_lid = list((T.LEFT_EYE_LOWER if side == "Left" else T.RIGHT_EYE_LOWER)[1:-1])
    wing = list(T.LEFT_NOSE_WING if side == "Left" else T.RIGHT_NOSE_WING)
    return {
        f"BrowDown{side}": spread(q, brow, brow_down, 0.12, face.brow_region),
        f"BrowOuterUp{side}": _brow_raise(face, side, inner=False),
        f"CheekSquint{side}": spread(q, [cheek] + lower_lid, np.r_[[[0, -0.05, 0.01]], np.tile([0, -0.015, 0], (7, 1))],
                                     0.15),
        f"NoseSneer{side}": spread(q, wing, np.tile([0.005 * sign, -0.04, 0.0], (len(wing), 1)), 0.1, face.above_mouth),
    }


def _cheek_puff(face: _Face) -> np.ndarray:
    q = face.q
    handles = [T.LEFT_CHEEK, T.RIGHT_CHEEK, 280, 50, 411, 187, 427, 207, 436, 216]
    moves = np.array([[0.07 * np.sign(q[h, 0] - face.mouth_u), 0.0, 0.06] for h in handles])
    return spread(q, handles, moves, 0.2) + spread(q, face.lips, np.tile([0, 0, 0.03], (len(face.lips), 1)), 0.1)
