"""Named point sets of mediapipe's 468-point face mesh ("left"/"right" are the subject's own sides:
the subject's left is on the image's right).

Index values follow mediapipe's ``face_mesh_connections.py`` (Apache-2.0) and its canonical face model.
Contours run from the outer (ear-side) corner to the inner (nose-side) corner for eyes, and from the
subject's right mouth corner (61) to the left one (291) for lips.
"""

from __future__ import annotations

LIPS_OUTER_UPPER = (61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291)
LIPS_OUTER_LOWER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291)
LIPS_INNER_UPPER = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308)
LIPS_INNER_LOWER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308)
MOUTH_CORNER_RIGHT, MOUTH_CORNER_LEFT = 61, 291
UPPER_LIP_MID, LOWER_LIP_MID = 13, 14  # inner-lip midpoints: their gap is the mouth opening

RIGHT_EYE_UPPER = (33, 246, 161, 160, 159, 158, 157, 173, 133)
RIGHT_EYE_LOWER = (33, 7, 163, 144, 145, 153, 154, 155, 133)
LEFT_EYE_UPPER = (263, 466, 388, 387, 386, 385, 384, 398, 362)
LEFT_EYE_LOWER = (263, 249, 390, 373, 374, 380, 381, 382, 362)
RIGHT_EYE_OUTER, RIGHT_EYE_INNER = 33, 133
LEFT_EYE_OUTER, LEFT_EYE_INNER = 263, 362

RIGHT_BROW = (46, 53, 52, 65, 55, 70, 63, 105, 66, 107)  # outer to inner, lower row then upper row
LEFT_BROW = (276, 283, 282, 295, 285, 300, 293, 334, 296, 336)
RIGHT_NOSE_WING, LEFT_NOSE_WING = (48, 64, 98, 115, 219, 235), (278, 294, 327, 344, 439, 455)
NOSE_TIP, SUBNASALE, CHIN, FOREHEAD = 1, 2, 152, 10
RIGHT_CHEEK, LEFT_CHEEK = 205, 425  # the cheek's fullest point, between mouth corner and cheekbone

FACE_OVAL = (10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
             148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109)


# Mirror pairs (subject's right point, left point) across the face's midplane: the contours above are listed
# so that equal positions mirror each other.
MIRROR_PAIRS: tuple[tuple[int, int], ...] = tuple(
    list(zip(RIGHT_EYE_UPPER, LEFT_EYE_UPPER)) + list(zip(RIGHT_EYE_LOWER, LEFT_EYE_LOWER))
    + list(zip(RIGHT_BROW, LEFT_BROW)) + list(zip(RIGHT_NOSE_WING, LEFT_NOSE_WING))
    + [(LIPS_OUTER_UPPER[i], LIPS_OUTER_UPPER[-1 - i]) for i in range(5)]
    + [(LIPS_OUTER_LOWER[i], LIPS_OUTER_LOWER[-1 - i]) for i in range(1, 5)]
    + [(LIPS_INNER_UPPER[i], LIPS_INNER_UPPER[-1 - i]) for i in range(5)]
    + [(LIPS_INNER_LOWER[i], LIPS_INNER_LOWER[-1 - i]) for i in range(1, 5)]
    + [(RIGHT_CHEEK, LEFT_CHEEK)]
)
