"""The head and eye joints of a 3-D character: their names in rigs, and their angles (yaw, pitch, roll in
radians) as quaternions, for the glTF, USD and FBX exports and the Blender add-on.

Axis conventions (the ARKit face frame, which is also glTF's): +Y up, +Z out of the face towards the viewer,
+X to the character's own left; right-handed. Yaw turns about +Y (positive turns the face towards its own
left), pitch about +X (positive tips the face down), roll about +Z (positive tilts the top of the head towards
the character's right shoulder, counter-clockwise as the viewer sees it). The rotation is
``R = Ry(yaw) @ Rx(pitch) @ Rz(roll)`` (intrinsic yaw, then pitch, then roll). Quaternions are returned in
glTF's ``(x, y, z, w)`` order; :func:`to_wxyz` reorders them for USD and Blender.
"""

from __future__ import annotations

import numpy as np

from facecast.motion import CHANNEL_INDEX, MotionClip

HEAD = "Head"
LEFT_EYE = "LeftEye"
RIGHT_EYE = "RightEye"
_FIRST_ANGLE = {HEAD: "HeadYaw", LEFT_EYE: "LeftEyeYaw", RIGHT_EYE: "RightEyeYaw"}
# Node names that receive head / eye rotations in a user's head, compared with rig_mapping.normalize().
JOINT_NODE_NAMES: dict[str, tuple[str, ...]] = {
    HEAD: ("head", "ccbasehead", "headjoint"),
    LEFT_EYE: ("lefteye", "eyeleft", "eyel", "ccbaseleye", "lefteyejoint"),
    RIGHT_EYE: ("righteye", "eyeright", "eyer", "ccbasereye", "righteyejoint"),
}


def _axis_quaternion(angle: np.ndarray, axis: int) -> np.ndarray:
    q = np.zeros((len(angle), 4))
    q[:, axis] = np.sin(angle / 2)
    q[:, 3] = np.cos(angle / 2)
    return q


def multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product of quaternion arrays in ``(x, y, z, w)`` order (``a`` applied after ``b``)."""
    ax, ay, az, aw = np.moveaxis(np.asarray(a, np.float64), -1, 0)
    bx, by, bz, bw = np.moveaxis(np.asarray(b, np.float64), -1, 0)
    return np.stack([
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    ], axis=-1)  # fmt: skip


def euler_to_quaternion(yaw: np.ndarray, pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """Quaternions ``[T, 4]`` (x, y, z, w) for ``Ry(yaw) @ Rx(pitch) @ Rz(roll)``; hemisphere kept continuous."""
    q = multiply(multiply(_axis_quaternion(np.asarray(yaw, np.float64), 1),
                          _axis_quaternion(np.asarray(pitch, np.float64), 0)),
                 _axis_quaternion(np.asarray(roll, np.float64), 2))
    # q and -q are the same rotation; keep neighbours on one side so linear interpolation takes the short way
    flips = np.cumsum(np.r_[False, np.sum(q[1:] * q[:-1], axis=1) < 0]) % 2 == 1
    q[flips] *= -1
    return q


def joint_rotations(clip: MotionClip, joint: str) -> np.ndarray:
    """The quaternions ``[T, 4]`` (x, y, z, w) of ``joint`` (:data:`HEAD`, :data:`LEFT_EYE`, :data:`RIGHT_EYE`)."""
    first = CHANNEL_INDEX[_FIRST_ANGLE[joint]]
    yaw, pitch, roll = (clip.values[:, first + i].astype(np.float64) for i in range(3))
    return euler_to_quaternion(yaw, pitch, roll)


def to_wxyz(q: np.ndarray) -> np.ndarray:
    """Reorder ``(x, y, z, w)`` quaternions to ``(w, x, y, z)`` as USD's ``GfQuatf`` and Blender take them."""
    return np.roll(np.asarray(q), 1, axis=-1)
