"""Real mouth interiors (teeth, tongue, cavity) cut from talking videos, indexed by mouth shape (Video Rewrite's
idea: Bregler, Covell, Slaney 1997).

Every interior is stored in *lip coordinates*: column ``x`` runs from the inner-lip corner on the subject's right
(-1) to the one on the left (+1); row ``t`` runs from the upper inner lip (0) to the lower inner lip (1) in that
column. Cut that way, an interior fits any pair of lip contours: drawing it is one ``cv2.remap`` of the pixels
between the moved lips. The shape index is the lip gap at a few columns and where the lip middles sit relative
to the corner line (a smile lifts the corners), all in units of the inner mouth's half-width, so a mouth of the
same opening and shape picks an exemplar whose teeth show the way they would.

The library (``models/mouths/library.npz``, built by ``scripts/build_mouth_library.py``, sources in the README
beside it) holds a few hundred exemplars; per frame the few nearest are blended with weights that fall to zero
as an exemplar leaves the neighbourhood, so the interior changes smoothly as the mouth moves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from facecast.errors import FacecastError
from facecast.face import topology as T

LIBRARY_PATH = Path(__file__).resolve().parents[1] / "models" / "mouths" / "library.npz"
GRID = (64, 40)  # columns (x), rows (t) of a stored interior
DESCRIPTOR_X = (-0.6, -0.3, 0.0, 0.3, 0.6)  # columns whose lip gap indexes the library
DESCRIPTOR_WEIGHTS = np.array([0.7, 1.0, 1.4, 1.0, 0.7, 0.6, 0.6], np.float32)
NEIGHBOURS = 2
OWN_PREFERENCE = 0.4  # the portrait's own interior counts as this much nearer than it is
# A portrait's "own interior" whose luminance spreads less than this (10th to 90th percentile, levels) is a flat
# fill, not a mouth: a drawing whose fitted inner lips lie apart over its skin. The shipped exemplars spread 16 or more.
FLAT_INTERIOR = 8.0
MAX_BRIGHTEN = 1.2  # recolouring makes an exemplar at most this much brighter (a cavity stays dark under pale lips)
UPPER = np.array(T.LIPS_INNER_UPPER)  # corner (78) to corner (308)
LOWER = np.array(T.LIPS_INNER_LOWER)
INNER = np.concatenate([UPPER, LOWER[::-1][1:-1]])


@dataclass(frozen=True)
class LipFrame:
    """The mouth's own axes in a picture: ``origin`` between the inner-lip corners, unit vectors ``ex`` (towards
    the subject's left corner) and ``ey`` (down), ``half`` the inner half-width in pixels."""

    origin: np.ndarray
    ex: np.ndarray
    ey: np.ndarray
    half: float

    @classmethod
    def of(cls, points: np.ndarray) -> LipFrame:
        right, left = points[UPPER[0], :2].astype(np.float64), points[UPPER[-1], :2].astype(np.float64)
        axis = left - right
        half = max(float(np.linalg.norm(axis)) / 2, 1e-3)
        ex = axis / (2 * half)
        return cls((left + right) / 2, ex, np.array([-ex[1], ex[0]]), half)

    def local(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Picture pixels [..., 2] to lip units (x along the corners, y down)."""
        d = xy - self.origin
        return (d @ self.ex) / self.half, (d @ self.ey) / self.half

    def picture(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Lip units back to picture pixels [..., 2]."""
        return self.origin + self.half * (x[..., None] * self.ex + y[..., None] * self.ey)


Curve = tuple[np.ndarray, np.ndarray]


def lip_curves(points: np.ndarray, frame: LipFrame) -> tuple[Curve, Curve]:
    """The upper and lower inner-lip contours as (x, y) sample arrays in lip units, sorted by x."""
    curves = []
    for contour in (UPPER, LOWER):
        x, y = frame.local(points[contour, :2].astype(np.float64))
        order = np.argsort(x, kind="stable")
        curves.append((x[order], y[order]))
    return curves[0], curves[1]


def descriptor(points: np.ndarray) -> np.ndarray:
    """The shape index [7] of a mouth with landmarks ``points`` [468, 2+]: lip gap at ``DESCRIPTOR_X``, then the
    upper and lower lip middles' heights over the corner line."""
    frame = LipFrame.of(points)
    (ux, uy), (lx, ly) = lip_curves(points, frame)
    xs = np.asarray(DESCRIPTOR_X)
    upper, lower = np.interp(xs, ux, uy), np.interp(xs, lx, ly)
    return np.concatenate([np.maximum(lower - upper, 0), [upper[2], lower[2]]]).astype(np.float32)


def cut_interior(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The interior between the inner lips of ``image`` (RGB uint8) as a GRID-sized RGB uint8 picture."""
    frame = LipFrame.of(points)
    (ux, uy), (lx, ly) = lip_curves(points, frame)
    xs = np.linspace(-1, 1, GRID[0])
    ts = np.linspace(0, 1, GRID[1])
    upper, lower = np.interp(xs, ux, uy), np.interp(xs, lx, ly)
    y = upper[None, :] + ts[:, None] * (lower - upper)[None, :]
    where = frame.picture(np.broadcast_to(xs, y.shape), y).astype(np.float32)
    return cv2.remap(image, where[..., 0], where[..., 1], cv2.INTER_AREA if frame.half > GRID[0] else cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def shows_interior(interior: np.ndarray) -> bool:
    """Whether a cut interior (RGB, any size) shows a mouth (teeth, tongue, dark) rather than one flat fill."""
    luma = np.asarray(interior, np.float32).reshape(-1, 3) @ np.array([0.299, 0.587, 0.114], np.float32)
    low, high = np.percentile(luma, [10, 90])
    return float(high - low) >= FLAT_INTERIOR


def lip_colour(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Median RGB of the lips (between the outer and inner contours)."""
    from facecast.render.regions import INNER_LIP, OUTER_LIP

    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(points[OUTER_LIP, :2]).astype(np.int32)], 255)
    cv2.fillPoly(mask, [np.round(points[INNER_LIP, :2]).astype(np.int32)], 0)
    return (np.median(image[mask > 0], axis=0) if mask.any() else np.array([170, 90, 90])).astype(np.float32)


@dataclass(frozen=True)
class MouthLibrary:
    """``interiors`` uint8 [N, rows, cols, 3] in lip coordinates, their shape ``descriptors`` [N, 7] and the
    ``lips`` colour [N, 3] of the mouth each was cut from (to carry it over to another face's colours)."""

    interiors: np.ndarray
    descriptors: np.ndarray
    lips: np.ndarray
    preference: np.ndarray | None = None  # [N] distance multipliers (< 1 favours an exemplar), default all 1

    def with_own(self, image: np.ndarray, points: np.ndarray, lip: np.ndarray) -> MouthLibrary:
        """This library plus the portrait's own interior (``image`` with landmarks ``points``, for a portrait
        whose mouth is open), favoured near its own shape: close to the portrait's opening its own teeth show.
        Unchanged when what lies between its lips is a flat fill (:func:`shows_interior`): stretched over a wide
        opening, a drawing's skin-coloured gap was a pale smear where the cavity should be."""
        own = cut_interior(image, points)[None]
        if not shows_interior(own[0]):
            return self
        preference = np.ones(len(self.descriptors) + 1, np.float32)
        preference[-1] = OWN_PREFERENCE
        return MouthLibrary(np.concatenate([self.interiors, own]),
                            np.concatenate([self.descriptors, descriptor(points)[None]]),
                            np.concatenate([self.lips, np.asarray(lip, np.float32)[None]]), preference)

    def neighbours(self, shape: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Indices of the exemplars nearest a mouth of ``shape`` (a :func:`descriptor`) and their blend weights
        (summing to 1; an exemplar's weight falls to zero as it enters or leaves the neighbourhood)."""
        d = np.sqrt((((self.descriptors - shape) * DESCRIPTOR_WEIGHTS) ** 2).sum(axis=1))
        if self.preference is not None:
            d = d * self.preference
        if len(d) == 1:
            return np.zeros(1, int), np.ones(1)
        k = min(NEIGHBOURS, len(d) - 1)
        order = np.argpartition(d, k)[: k + 1]
        order = order[np.argsort(d[order])]
        scale = max(float(d[order[0]]), 0.02) * 2.0
        kernel = np.exp(-((d[order] / scale) ** 2))
        # The (k+1)-th neighbour's kernel is taken off, so an exemplar's weight is zero as it enters or leaves.
        weights = np.maximum(kernel[:k] - kernel[k], 0)
        if weights.sum() <= 0:
            weights = np.eye(1, k)[0]
        return order[:k], weights / weights.sum()

    def blend(self, shape: np.ndarray, lip: np.ndarray) -> np.ndarray:
        """The interior (float32 RGB, GRID-sized) for a mouth of ``shape`` whose lips are ``lip`` coloured: the
        nearest exemplars, each recoloured from its own lips to ``lip``, blended."""
        out = np.zeros(self.interiors.shape[1:], np.float32)
        for i, weight in zip(*self.neighbours(shape), strict=True):
            if weight > 0:
                out += self.interiors[i].astype(np.float32) * (weight * _recolour(self.lips[i], lip))
        return out

    def gaps(self, shape: np.ndarray) -> np.ndarray:
        """The lip gaps at ``DESCRIPTOR_X`` [5] of the blend :meth:`blend` gives for ``shape``: how tall the
        interior's features were where it was cut."""
        indices, weights = self.neighbours(shape)
        return (self.descriptors[indices, : len(DESCRIPTOR_X)] * weights[:, None]).sum(axis=0)


def _recolour(source_lip: np.ndarray, target_lip: np.ndarray) -> np.ndarray:
    """Per-channel gain carrying a mouth's colours from lips ``source_lip`` to ``target_lip``: the brightness
    half-way and the hue half-way (a cavity stays dark under pale lips; teeth keep most of their white on a face
    with very red or brown lips)."""
    source = np.maximum(source_lip, 8.0)
    target = np.maximum(target_lip, 8.0)
    brightness = min(float(np.sqrt(target.mean() / source.mean())), MAX_BRIGHTEN)
    hue = (target / target.mean()) / (source / source.mean())
    return np.clip(brightness * np.sqrt(hue), 0.3, 2.5).astype(np.float32)


@lru_cache(maxsize=2)
def load_library(path: str | os.PathLike[str] = LIBRARY_PATH) -> MouthLibrary:
    """The shipped library (cached)."""
    name = os.fspath(path)
    if not os.path.exists(name):
        raise FacecastError(f"the mouth library {name} is missing; build it with scripts/build_mouth_library.py "
                            "or render with mouth='painted'")
    with np.load(name) as data:
        return MouthLibrary(data["interiors"], data["descriptors"].astype(np.float32),
                            data["lips"].astype(np.float32))


def save_library(path: str | os.PathLike[str], library: MouthLibrary, sources: list[str]) -> None:
    """Write a library (npz, compressed) atomically; ``sources`` names where each exemplar came from."""
    from facecast.fileio import atomic_path

    with atomic_path(path) as tmp, open(tmp, "wb") as out:
        np.savez_compressed(out, interiors=library.interiors, descriptors=library.descriptors,
                            lips=library.lips, sources=np.array(sources))
