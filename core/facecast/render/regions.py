"""Named regions of the 468-point face mesh (MediaPipe Face Mesh topology) that the renderer draws on.

"Left" and "Right" are the subject's own sides, as in ARKit's EyeBlinkLeft; in a frontal portrait the subject's
left eye is on the right of the picture.
"""

from __future__ import annotations

import numpy as np

FACE_OVAL = np.array([
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
])  # fmt: skip
CHIN = 152

# Points that move with the skull but not with the jaw, lips or brows: used to measure the head's own motion.
RIGID_HEAD = np.array([
    10, 338, 297, 332, 284, 251, 389, 356, 454, 234, 127, 162, 21, 54, 103, 67, 109,
    168, 6, 197, 195, 5, 4, 33, 133, 362, 263,
])  # fmt: skip

# Inner lip contour, corner to corner along the upper lip, and corner to corner along the lower lip.
INNER_LIP_UPPER = np.array([78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308])
INNER_LIP_LOWER = np.array([78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308])
INNER_LIP = np.concatenate([INNER_LIP_UPPER, INNER_LIP_LOWER[::-1][1:-1]])
MOUTH_CORNERS = np.array([61, 291])
OUTER_LIP = np.array([
    61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185,
])  # fmt: skip

# Eye contours, outer corner to inner corner along the upper lid, then along the lower lid.
EYE_UPPER = {
    "Right": np.array([33, 246, 161, 160, 159, 158, 157, 173, 133]),
    "Left": np.array([263, 466, 388, 387, 386, 385, 384, 398, 362]),
}
EYE_LOWER = {
    "Right": np.array([33, 7, 163, 144, 145, 153, 154, 155, 133]),
    "Left": np.array([263, 249, 390, 373, 374, 380, 381, 382, 362]),
}


def eye_contour(side: str) -> np.ndarray:
    """Closed contour of one eye opening: upper lid outer→inner, then lower lid inner→outer."""
    return np.concatenate([EYE_UPPER[side], EYE_LOWER[side][::-1][1:-1]])
