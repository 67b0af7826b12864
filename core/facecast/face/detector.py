"""BlazeFace face detection (mediapipe's short- and full-range models) with its SSD anchor decoding.

The detector sees the whole image letterboxed into a square (128 px short range, 192 px full range) and
returns face boxes with six keypoints (right eye, left eye, nose tip, mouth, right ear, left ear; "right" is
the subject's right, on the image's left). Short range suits portraits and webcam framing; full range finds
the smaller faces of group photos and wide shots, so it is the fallback.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

from facecast.face.runtime import shared_model


@dataclass(frozen=True)
class FaceDetection:
    """A detected face: ``box`` (x, y, w, h) and ``keypoints`` [6, 2] in image pixels, ``score`` in [0, 1]."""

    box: tuple[float, float, float, float]
    keypoints: np.ndarray
    score: float

    @property
    def area(self) -> float:
        return self.box[2] * self.box[3]


@dataclass(frozen=True)
class _Spec:
    filename: str
    size: int
    strides: tuple[int, ...]
    anchors_per_cell: tuple[int, ...]
    min_score: float


# The anchor layouts of mediapipe's face_detection_{short,full}_range graphs (SsdAnchorsCalculator options
# with fixed-size anchors: every anchor is 1x1 in relative units, so only the centres matter).
SHORT_RANGE = _Spec("face_detection_short_range.tflite", 128, (8, 16, 16, 16), (2, 2, 2, 2), 0.5)
FULL_RANGE = _Spec("face_detection_full_range_sparse.tflite", 192, (4,), (1,), 0.6)


@cache
def anchor_centres(spec: _Spec) -> np.ndarray:
    """SSD anchor centres [N, 2] in relative units, in the order the model's outputs use.

    Consecutive layers with the same stride share one grid, their anchors stacked per cell (mediapipe's
    SsdAnchorsCalculator does the same), which gives 16x16x2 + 8x8x6 = 896 anchors for the short-range model.
    """
    centres = []
    layer = 0
    while layer < len(spec.strides):
        stride, per_cell = spec.strides[layer], 0
        while layer < len(spec.strides) and spec.strides[layer] == stride:
            per_cell += spec.anchors_per_cell[layer]
            layer += 1
        cells = int(np.ceil(spec.size / stride))
        ys, xs = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], 1)
        centres.append(np.repeat(grid, per_cell, axis=0))
    return np.concatenate(centres).astype(np.float32)


def detect_faces(image: np.ndarray, spec: _Spec = SHORT_RANGE) -> list[FaceDetection]:
    """All faces BlazeFace finds in an RGB uint8 image, largest first (after non-maximum suppression)."""
    step = max(1, max(image.shape[:2]) // (4 * spec.size))
    if step > 1:  # a huge image: subsample first, so area averaging only reads a few times the pixels it needs
        image = image[::step, ::step]
    height, width = image.shape[:2]
    side = max(height, width)
    scale = spec.size / side
    inner = (max(1, round(width * scale)), max(1, round(height * scale)))
    canvas = np.zeros((spec.size, spec.size, 3), np.uint8)
    off_x, off_y = (spec.size - inner[0]) // 2, (spec.size - inner[1]) // 2
    canvas[off_y:off_y + inner[1], off_x:off_x + inner[0]] = cv2.resize(image, inner, interpolation=cv2.INTER_AREA)
    outputs = shared_model(spec.filename).run(canvas[None].astype(np.float32) / 127.5 - 1.0)
    raw_boxes, raw_scores = sorted(outputs.values(), key=lambda a: -a.shape[-1])  # [1,N,16] then [1,N,1]
    scores = 1.0 / (1.0 + np.exp(-np.clip(raw_scores[0, :, 0].astype(np.float64), -100, 100)))
    keep = np.flatnonzero(scores >= spec.min_score)
    if keep.size == 0:
        return []
    raw = raw_boxes[0, keep] / spec.size
    centres = anchor_centres(spec)[keep]
    box_centre = raw[:, 0:2] + centres
    box_size = raw[:, 2:4]
    keypoints = raw[:, 4:16].reshape(-1, 6, 2) + centres[:, None, :]

    def to_image(rel: np.ndarray) -> np.ndarray:  # relative letterbox coordinates -> image pixels
        return (rel * spec.size - np.array([off_x, off_y], np.float32)) / scale * step

    corners = to_image(box_centre - box_size / 2)
    sizes = box_size * spec.size / scale * step
    boxes = np.concatenate([corners, sizes], 1)
    detections = []
    for i in _nms(boxes, scores[keep]):
        x, y, w, h = (float(v) for v in boxes[i])
        box = (x, y, w, h)
        detections.append(FaceDetection(box, to_image(keypoints[i]), float(scores[keep][i])))
    return sorted(detections, key=lambda d: -d.area)


def _nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.3) -> list[int]:
    """Indices of the boxes that survive non-maximum suppression, best score first."""
    order = list(np.argsort(-scores))
    kept: list[int] = []
    while order:
        best = order.pop(0)
        kept.append(best)
        order = [i for i in order if _iou(boxes[best], boxes[i]) < iou_threshold]
    return kept


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0
