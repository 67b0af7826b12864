"""Head translation in the picture: the motion contract's head translation (metres, y up, relative to the take's
median pose) as a shift of the portrait's head in output pixels.

Capture (:func:`facecast.face.capture.solve_motion`) measures it as the displacement of the centroid of the rigid
points (forehead, nose bridge, eye corners, temples: :data:`facecast.face.capture.RIGID_POINTS`), written in the
neutral face's axes (u, v, w) in units of its outer-eye-corner distance times
:data:`~facecast.face.capture.METRES_PER_UNIT`. The renderer undoes exactly that with the portrait's own face
frame: metres → face units (÷ ``METRES_PER_UNIT``) → pixels (× the frame's scale, along its axes), so a tilted
portrait moves along its own eye line, as the captured head did along its.

That centroid displacement is all of the head's motion, including what turning about the neck does to the
centroid; the rig turns the head about its own pivot (:data:`facecast.face.portrait_rig.HEAD_PIVOT`) and so already
moves the centroid. The shift applied is what is left: the translation minus the centroid motion of the rig's turn,
so a capture → render round trip puts the rigid centroid where the real one was (on dev train clips the captured
sideways motion is 0.04-0.07 m per radian of yaw, the pivot's own about 0.08: without this the turns would be
counted twice).

z (towards the camera) is not rendered: capture's z is the mean depth of the face-mesh model's points, which that
model normalises per crop. On four dev train clips its correlation with the change of the face's size in the
picture (what moving towards the camera really shows) is −0.71 … +0.19, not even of one sign, so a pinhole scale
from it would scale the head by noise.

A frame whose translation is exactly zero is a frame without translation (animators that do not move the head
write zeros): its head turns about the neck as before, bit for bit.
"""

from __future__ import annotations

import numpy as np

from facecast.errors import InvalidInput
from facecast.face.capture import METRES_PER_UNIT, RIGID_POINTS
from facecast.face.portrait_rig import FaceFrame

# Metres, per axis. A talking head moves a few centimetres (captured x: 5-18 mm standard deviation on the dev
# clips); 15 cm is more than the width of a head, beyond which the head would leave a portrait crop. Larger
# values are bad input (a wrong unit, a broken tracker) and are held at this bound instead of throwing the face
# out of the picture.
MAX_TRANSLATION_M = 0.15
RIGID = np.array(RIGID_POINTS)


def check_translation(translation: np.ndarray | None, frames: int) -> np.ndarray | None:
    """``translation`` [frames, 3] as float32, each value held to ±:data:`MAX_TRANSLATION_M`; None stays None.
    :class:`InvalidInput` for a wrong shape or a value that is not finite."""
    if translation is None:
        return None
    array = np.asarray(translation, np.float32)
    if array.shape != (frames, 3):
        raise InvalidInput(f"head translation must be a [frames, 3] array with one row per frame ({frames}), "
                           f"not {list(array.shape)}")
    if not np.isfinite(array).all():
        raise InvalidInput("head translation must be finite (metres); it holds NaN or infinity")
    return np.clip(array, -MAX_TRANSLATION_M, MAX_TRANSLATION_M)


class HeadShift:
    """Per portrait: turns head translations into image shifts of its head."""

    def __init__(self, rest: np.ndarray, frame: FaceFrame) -> None:
        """``rest``: the portrait's landmarks [468, 2+] in output pixels; ``frame``: its face frame."""
        self._rest_centre = np.asarray(rest, np.float64)[RIGID, :2].mean(axis=0)
        # Face axes in image x, y per metre of translation (x, y up, z): y of the contract points up, v down.
        axes = np.asarray(frame.axes, np.float64) * np.array([[1.0], [-1.0], [1.0]])
        self._per_metre = (axes * frame.scale / METRES_PER_UNIT)[:2, :2]  # z is not rendered (module docstring)

    def shifts(self, translation: np.ndarray, carried: np.ndarray) -> np.ndarray:
        """Image shifts [T, 2] (output pixels) for translations [T, 3] (metres, checked) of heads that the rig's
        rotation alone puts at ``carried`` [T, 468, 2+]; zero rows for frames without translation."""
        translation = np.asarray(translation, np.float64)
        target = translation[:, :2] @ self._per_metre
        turned = np.asarray(carried, np.float64)[:, RIGID, :2].mean(axis=1) - self._rest_centre
        still = np.logical_not(translation.any(axis=1))
        return np.where(still[:, None], 0.0, target - turned).astype(np.float32)
