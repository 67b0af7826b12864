"""The 468-point face mesh on an image: detection (or a box given by hand), crop, mesh model, refinement.

Coordinates: landmarks are float32 [468, 3] in the pixels of the image they were fitted on, x to the right,
y down, z towards the camera (mediapipe's z negated) in the same pixel scale as x, its origin near the
middle of the head as the model gives it. Point indices are mediapipe's face-mesh indices (see
:mod:`facecast.face.topology`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from facecast.errors import InvalidInput
from facecast.face.detector import FULL_RANGE, SHORT_RANGE, detect_faces
from facecast.face.image import as_rgb_array
from facecast.face.runtime import TfliteModel, shared_model

NUM_LANDMARKS = 468
MESH_INPUT = 192
MIN_IMAGE_SIDE = 32
MIN_FACE_SCORE = 0.5  # the mesh model's own face-presence probability; below it the fit is not a face
ROI_SCALE = 1.5  # the crop is this much larger than the face, as mediapipe's landmarks-to-ROI step does
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 33, 263


@dataclass(frozen=True)
class Roi:
    """A square crop of the image: centre and side in pixels, rotated by ``angle`` radians (eye line level)."""

    cx: float
    cy: float
    size: float
    angle: float = 0.0

    def crop_to_image(self, crop_side: int) -> np.ndarray:
        """2x3 affine matrix from crop pixels (0..crop_side) to image pixels."""
        scale = self.size / crop_side
        cos, sin = math.cos(self.angle) * scale, math.sin(self.angle) * scale
        half = crop_side / 2
        return np.array([[cos, -sin, self.cx - cos * half + sin * half],
                         [sin, cos, self.cy - sin * half - cos * half]], np.float64)


@dataclass(frozen=True, eq=False)  # eq would compare arrays ambiguously
class FaceFit:
    """The fitted face of one image.

    ``landmarks`` float32 [468, 3] in image pixels (see the module docstring for axes); ``box`` (x, y, w, h)
    the landmarks' bounding box in pixels; ``image_size`` (width, height) of the fitted image; ``score`` the
    mesh model's face-presence probability in [0, 1]; ``source`` "detector" or "face_box"; ``faces_found``
    how many faces the detector saw (0 when the box was given by hand).
    """

    landmarks: np.ndarray
    box: tuple[float, float, float, float]
    image_size: tuple[int, int]
    score: float
    source: str = "detector"
    faces_found: int = 1

    @property
    def interocular(self) -> float:
        """Distance between the outer eye corners in pixels: the face's size unit for the rig."""
        return float(np.linalg.norm(self.landmarks[LEFT_EYE_OUTER, :2] - self.landmarks[RIGHT_EYE_OUTER, :2]))


class FaceMesh:
    """The mediapipe face-landmark model: an RGB image and a :class:`Roi` in, 468 points and a score out."""

    def __init__(self, model: TfliteModel | None = None) -> None:
        self.model = model or shared_model("face_landmark.tflite")

    def run(self, image: np.ndarray, roi: Roi) -> tuple[np.ndarray, float]:
        crop, to_image = crop_roi(image, roi, MESH_INPUT)
        outputs = self.model.run(crop[None].astype(np.float32) * (1.0 / 255.0))
        raw_points = next(v for v in outputs.values() if v.size == NUM_LANDMARKS * 3).reshape(NUM_LANDMARKS, 3)
        raw_score = next(v for v in outputs.values() if v.size == 1).item()
        points = np.empty((NUM_LANDMARKS, 3), np.float32)
        points[:, :2] = raw_points[:, :2] @ to_image[:, :2].T + to_image[:, 2]
        points[:, 2] = -raw_points[:, 2] * (roi.size / MESH_INPUT)
        return points, 1.0 / (1.0 + math.exp(-raw_score))


def crop_roi(image: np.ndarray, roi: Roi, side: int) -> tuple[np.ndarray, np.ndarray]:
    """The ROI resampled to ``side`` x ``side`` pixels, and the crop-to-image affine matrix.

    A ROI much larger than the crop (a face of thousands of pixels) is first shrunk with area averaging,
    so the crop does not alias.
    """
    to_image = roi.crop_to_image(side)
    source, offset, factor = image, np.zeros(2), 1.0
    if roi.size > 2 * side:
        reach = roi.size * 0.75  # half the diagonal of the rotated square, rounded up
        x0, y0 = max(0, int(roi.cx - reach)), max(0, int(roi.cy - reach))
        x1, y1 = min(image.shape[1], int(roi.cx + reach) + 1), min(image.shape[0], int(roi.cy + reach) + 1)
        if x1 > x0 and y1 > y0:
            factor = 2 * side / roi.size
            step = max(1, int(roi.size / (4 * side)))  # subsample a huge window first; averaging 2x2 after it
            window = image[y0:y1:step, x0:x1:step]
            size = (max(1, round((x1 - x0) * factor)), max(1, round((y1 - y0) * factor)))
            source, offset = cv2.resize(window, size, interpolation=cv2.INTER_AREA), np.array([x0, y0], float)
    local = to_image.copy()
    local[:, 2] -= offset
    local *= factor
    crop = cv2.warpAffine(source, local, (side, side), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT)
    return crop, to_image


def roi_from_landmarks(points: np.ndarray) -> Roi:
    """The crop that holds a face given its landmarks: level eye line, square, 1.5x the face's extent."""
    eye_line = points[LEFT_EYE_OUTER, :2] - points[RIGHT_EYE_OUTER, :2]
    angle = math.atan2(float(eye_line[1]), float(eye_line[0]))
    cos, sin = math.cos(angle), math.sin(angle)
    xy = points[:, :2].astype(np.float64)
    upright = xy @ np.array([[cos, -sin], [sin, cos]])  # rotate by -angle: face axes
    lo, hi = upright.min(0), upright.max(0)
    centre = ((lo + hi) / 2) @ np.array([[cos, sin], [-sin, cos]])
    return Roi(float(centre[0]), float(centre[1]), float(max(hi - lo)) * ROI_SCALE, angle)


def roi_from_box(box: Sequence[float], keypoints: np.ndarray | None = None) -> Roi:
    """The crop for a face box (x, y, w, h), levelled by the detector's eye keypoints when there are some."""
    x, y, w, h = (float(v) for v in box)
    angle = 0.0
    if keypoints is not None:
        dx, dy = keypoints[1] - keypoints[0]  # subject's left eye minus right eye
        angle = math.atan2(float(dy), float(dx))
    return Roi(x + w / 2, y + h / 2, max(w, h) * ROI_SCALE, angle)


def fit_landmarks(mesh: FaceMesh, image: np.ndarray, roi: Roi, refinements: int = 2) -> tuple[np.ndarray, float]:
    """Run the mesh on ``roi``, then re-crop around what it found ``refinements`` times (each crop is better)."""
    points, score = mesh.run(image, roi)
    for _ in range(refinements):
        points, score = mesh.run(image, roi_from_landmarks(points))
    return points, score


def fit_face(image: np.ndarray, face_box: Sequence[float] | None = None, *, source: str = "the image") -> FaceFit:
    """Fit the 468-point face mesh to an RGB uint8 image [H, W, 3] (gray and RGBA arrays are converted).

    Without ``face_box`` BlazeFace finds the face (short range, then full range); with several faces the
    largest is used and a warning names how many were seen. ``face_box`` (x, y, w, h in pixels, forehead to
    chin) skips detection, for paintings, drawings and cartoons the detector misses. ``source`` names the
    image in error messages. Raises :class:`InvalidInput` when there is no usable face.
    """
    rgb = as_rgb_array(image)
    height, width = rgb.shape[:2]
    if min(height, width) < MIN_IMAGE_SIDE:
        raise InvalidInput(f"{source} is {width}x{height} pixels; a face needs at least "
                           f"{MIN_IMAGE_SIDE} pixels on each side")
    mesh = FaceMesh()
    if face_box is not None:
        box = check_face_box(face_box, width, height)
        points, score = fit_landmarks(mesh, rgb, roi_from_box(box))
        if score < MIN_FACE_SCORE:
            warnings.warn(f"the face mesh fits the given face box of {source} poorly (score {score:.2f}); "
                          "check the box", stacklevel=2)
        return _face_fit(points, rgb, score, "face_box", 0)
    detections = detect_faces(rgb, SHORT_RANGE) or detect_faces(rgb, FULL_RANGE)
    if not detections:
        raise InvalidInput(f"no face found in {source}; give the face box with --face-box x,y,w,h")
    if len(detections) > 1:
        warnings.warn(f"{len(detections)} faces found in {source}; using the largest (give --face-box to pick "
                      "another)", stacklevel=2)
    best = detections[0]
    points, score = fit_landmarks(mesh, rgb, roi_from_box(best.box, best.keypoints))
    if score < MIN_FACE_SCORE:
        raise InvalidInput(f"a face was detected in {source} but the face mesh does not fit it (score "
                           f"{score:.2f}); give the face box with --face-box x,y,w,h")
    return _face_fit(points, rgb, score, "detector", len(detections))


def check_face_box(face_box: Sequence[float], width: int, height: int) -> tuple[float, float, float, float]:
    """Validate a hand-given face box (x, y, w, h) against the image, with a clear message when it is wrong."""
    try:
        x, y, w, h = (float(v) for v in face_box)
    except (TypeError, ValueError):
        raise InvalidInput(f"face box must be four numbers x,y,w,h, got {face_box!r}") from None
    if not all(math.isfinite(v) for v in (x, y, w, h)) or w < 8 or h < 8:
        raise InvalidInput(f"face box {x:g},{y:g},{w:g},{h:g} must have finite values and a size of at least 8 px")
    if x >= width or y >= height or x + w <= 0 or y + h <= 0:
        raise InvalidInput(f"face box {x:g},{y:g},{w:g},{h:g} lies outside the {width}x{height} image")
    return x, y, w, h


def parse_face_box(text: str) -> tuple[float, float, float, float]:
    """``"x,y,w,h"`` from the command line as four floats."""
    parts = text.replace(" ", "").split(",")
    if len(parts) != 4:
        raise InvalidInput(f"--face-box takes x,y,w,h (four numbers), got {text!r}")
    try:
        return tuple(float(p) for p in parts)  # type: ignore[return-value]
    except ValueError:
        raise InvalidInput(f"--face-box takes x,y,w,h (four numbers), got {text!r}") from None


def _face_fit(points: np.ndarray, image: np.ndarray, score: float, source: str, faces: int) -> FaceFit:
    lo, hi = points[:, :2].min(0), points[:, :2].max(0)
    box = (float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1]))
    return FaceFit(points, box, (image.shape[1], image.shape[0]), float(score), source, faces)
