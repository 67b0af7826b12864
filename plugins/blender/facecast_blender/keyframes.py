"""Keyframe arrays for a take, built with numpy only (no bpy): frame numbers, ``co`` pairs, rotations.

Blender's F-curves take keyframes as a flat ``[frame0, value0, frame1, value1, ...]`` array through
``keyframe_points.foreach_set("co", ...)``, which is what keeps a 60 s bake well under a second. Rotations
arrive in the ARKit face frame (+Y up, +Z towards the viewer) and are turned into Blender's (+Z up, -Y
towards the viewer) here.
"""

from __future__ import annotations

import numpy as np

from facecast.character.joints import joint_rotations
from facecast.motion import MotionClip

# ARKit/glTF axes -> Blender axes: x stays, y (up) becomes z, z (towards the viewer) becomes -y.
ARKIT_TO_BLENDER = np.array(((1.0, 0.0, 0.0), (0.0, 0.0, -1.0), (0.0, 1.0, 0.0)))


def frame_numbers(num_frames: int, clip_fps: int, scene_fps: float, start_frame: float) -> np.ndarray:
    """Scene frame of each clip frame: clip frame ``i`` lies ``i / clip_fps`` seconds after ``start_frame``."""
    return start_frame + np.arange(num_frames, dtype=np.float64) * (scene_fps / clip_fps)


def co_pairs(frames: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The flat float32 ``[f0, v0, f1, v1, ...]`` array that ``keyframe_points.foreach_set("co")`` takes."""
    pairs = np.empty((len(frames), 2), np.float32)
    pairs[:, 0] = frames
    pairs[:, 1] = values
    return pairs.ravel()


def blender_quaternions(clip: MotionClip, joint: str) -> np.ndarray:
    """A joint's rotation per frame as Blender ``(w, x, y, z)`` quaternions in Blender's axes.

    ``joint`` is ``"Head"``, ``"LeftEye"`` or ``"RightEye"``. The rotation is re-expressed in Blender's frame
    (conjugated by the axis change), so a character facing -Y turns its head the way the take says.
    """
    xyzw = joint_rotations(clip, joint)
    out = np.empty_like(xyzw)
    out[:, 0] = xyzw[:, 3]
    out[:, 1:] = xyzw[:, :3] @ ARKIT_TO_BLENDER.T  # a rotation's axis turns with the frame; the angle stays
    return out

