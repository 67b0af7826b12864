"""The face-mesh regions the renderer draws on, as index arrays built from :mod:`facecast.face.topology`.

"Left" and "Right" are the subject's own sides, as in ARKit's EyeBlinkLeft; in a frontal portrait the subject's
left eye is on the right of the picture.
"""

from __future__ import annotations

import numpy as np

from facecast.face import topology as topo

FACE_OVAL = np.array(topo.FACE_OVAL)
CHIN = topo.CHIN

# Points that move with the skull but not with the jaw, lips or brows: the fallback for measuring the head's
# own motion when the rig cannot name enough points that no blendshape moves.
RIGID_HEAD = np.array([
    10, 338, 297, 332, 284, 251, 389, 356, 454, 234, 127, 162, 21, 54, 103, 67, 109,
    168, 6, 197, 195, 5, 4, topo.RIGHT_EYE_OUTER, topo.RIGHT_EYE_INNER, topo.LEFT_EYE_INNER, topo.LEFT_EYE_OUTER,
])  # fmt: skip

INNER_LIP_UPPER = np.array(topo.LIPS_INNER_UPPER)  # corner to corner
INNER_LIP_LOWER = np.array(topo.LIPS_INNER_LOWER)
INNER_LIP = np.concatenate([INNER_LIP_UPPER, INNER_LIP_LOWER[::-1][1:-1]])  # closed contour
OUTER_LIP = np.concatenate([np.array(topo.LIPS_OUTER_UPPER), np.array(topo.LIPS_OUTER_LOWER)[::-1][1:-1]])
MOUTH_CORNERS = np.array([topo.MOUTH_CORNER_RIGHT, topo.MOUTH_CORNER_LEFT])

EYE_UPPER = {"Right": np.array(topo.RIGHT_EYE_UPPER), "Left": np.array(topo.LEFT_EYE_UPPER)}  # outer to inner
EYE_LOWER = {"Right": np.array(topo.RIGHT_EYE_LOWER), "Left": np.array(topo.LEFT_EYE_LOWER)}


def eye_contour(side: str) -> np.ndarray:
    """Closed contour of one eye opening: upper lid outer→inner, then lower lid inner→outer."""
    return np.concatenate([EYE_UPPER[side], EYE_LOWER[side][::-1][1:-1]])
