"""Invisible watermark: a key-seeded ±1 pattern of square cells added at low amplitude to every frame.

Why this design: the cells are large enough (a 64th of the frame side, 8 pixels at 512²; never under 4, so they
stay aligned with H.264's 4×4 transform blocks) that their means survive H.264 at its default quality and a
downscale to half size; the pattern is static, so the encoder carries it from frame to frame; it is a tile of
16×16 cells repeated over the frame, so a crop still holds whole tiles.

Detection never assumes the frame is the one we rendered. It averages the luma of the frames (the mark is the
same in every frame, the picture is not), whitens it (high-pass, each pixel weighed by how quiet its
neighbourhood is), and tries a few tile periods: those of a whole render at any size and of one cropped by 5-15 %,
and the strongest peaks of the whitened average's autocorrelation (a repeated tile makes one whatever the scale),
each refined by ±1.2 %. For each it resamples the average so a tile is TILE pixels, folds every pixel into one
tile-sized accumulator and cross-correlates it with the key tile at every cyclic shift (one FFT; a crop only
moves the peak). The score is the best peak as a z-score against all shifts: large for a marked file, about 4-5
(the largest of many N(0, 1) draws) for unmarked pictures.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

WATERMARK_KEY = 0x46434153  # "FCAS": the key every facecast render carries
CELLS = 16  # cells per tile side
TILE = 128  # pixels per tile side once detection has resampled a file to the canonical scale
CELL = TILE // CELLS  # canonical cell size (and the cell size at 512²)
MIN_CELL = 4  # pixels: H.264's transform block
MIN_SIDE = 96  # smallest frame side detection accepts
AMPLITUDE = 2.0  # grey levels added to or taken from R, G and B alike
DETECTION_THRESHOLD = 7.0  # peak z-score; unmarked pictures and videos score 3-4.5, marked renders 10-20
_HIGHPASS_KSIZE = 2 * CELL + 1
_SCALE_STEPS = (-0.012, -0.006, 0.0, 0.006, 0.012)  # relative refinements of the estimated period
_PERIOD_CANDIDATES = 3
_KEPT_SHARES = (1.0, 0.95, 0.9, 0.85)  # shares of a render's side a crop may have kept


@dataclass(frozen=True)
class Detection:
    """Outcome of :func:`detect`: ``score`` is a z-score, ``marked`` is ``score >= threshold``; ``cell`` is the
    mark's cell size in the file's pixels where it was found best."""

    score: float
    frames: int
    threshold: float = DETECTION_THRESHOLD
    cell: float = 0.0

    @property
    def marked(self) -> bool:
        return self.score >= self.threshold


def cell_size(height: int, width: int) -> int:
    """Cell side in pixels of the pattern for a ``height``×``width`` frame."""
    return max(MIN_CELL, int(round(min(height, width) / (4 * CELLS))))


def pattern_tile(key: int = WATERMARK_KEY, cell: int = CELL) -> np.ndarray:
    """The ±1 float32 tile [CELLS·cell, CELLS·cell], cells drawn from a generator seeded by ``key``."""
    cells = np.random.default_rng(key).integers(0, 2, size=(CELLS, CELLS)) * 2 - 1
    return np.kron(cells, np.ones((cell, cell))).astype(np.float32)


def pattern_for(height: int, width: int, key: int = WATERMARK_KEY) -> np.ndarray:
    """The tile at this frame's cell size repeated over a ``height``×``width`` frame (from the top-left)."""
    tile = pattern_tile(key, cell_size(height, width))
    reps = (-(-height // tile.shape[0]), -(-width // tile.shape[1]))
    return np.tile(tile, reps)[:height, :width]


class Watermarker:
    """Adds the mark to frames of one size; the scaled pattern is computed once."""

    def __init__(self, height: int, width: int, key: int = WATERMARK_KEY, amplitude: float = AMPLITUDE) -> None:
        delta = np.round(pattern_for(height, width, key) * amplitude)
        # Saturating uint8 add and subtract (OpenCV) of the positive and negative parts: the same as adding the
        # signed pattern and clipping to [0, 255], at a fraction of the cost.
        self._plus = np.repeat(np.maximum(delta, 0)[..., None], 3, axis=2).astype(np.uint8)
        self._minus = np.repeat(np.maximum(-delta, 0)[..., None], 3, axis=2).astype(np.uint8)

    def apply(self, frame: np.ndarray) -> np.ndarray:
        """Return the RGB uint8 ``frame`` with the mark added (clipped to [0, 255])."""
        if frame.shape != self._plus.shape:
            raise ValueError(f"watermarker built for {self._plus.shape}, frame is {frame.shape}")
        return cv2.subtract(cv2.add(frame, self._plus), self._minus)


class Detector:
    """Accumulates the frames of one file (all of one size), then scores them against the key."""

    def __init__(self, key: int = WATERMARK_KEY) -> None:
        self._tile = pattern_tile(key)
        self._key_spectrum = np.conj(np.fft.fft2(self._tile))
        self._sum: np.ndarray | None = None
        self.frames = 0

    def add(self, frame: np.ndarray) -> None:
        """Add one RGB (or grey) uint8 frame."""
        luma = (frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)).astype(np.float32)
        if min(luma.shape) < MIN_SIDE:
            raise ValueError(f"frame {luma.shape[1]}x{luma.shape[0]} is smaller than the {MIN_SIDE} pixels the "
                             "watermark needs")
        if self._sum is None:
            self._sum = np.zeros(luma.shape, np.float64)
        elif self._sum.shape != luma.shape:
            raise ValueError(f"frame {luma.shape[1]}x{luma.shape[0]} differs in size from the first frame")
        self._sum += luma
        self.frames += 1

    def result(self, threshold: float = DETECTION_THRESHOLD) -> Detection:
        """Score the frames added so far (see the module docstring)."""
        if self._sum is None:
            return Detection(0.0, 0, threshold)
        mean = (self._sum / self.frames).astype(np.float32)
        best, best_cell = 0.0, 0.0
        for period in _tile_periods(mean):
            for step in _SCALE_STEPS:
                tile = period * (1 + step)
                score = self._score_at(mean, TILE / tile)
                if score > best:
                    best, best_cell = score, tile / CELLS
        return Detection(best, self.frames, threshold, best_cell)

    def _score_at(self, mean: np.ndarray, factor: float) -> float:
        """Peak z-score of the key's cyclic cross-correlation with ``mean`` resampled by ``factor``."""
        interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
        image = cv2.resize(mean, None, fx=factor, fy=factor, interpolation=interpolation)
        # High-pass: the mark lives in cell-sized detail; the picture's broad shapes would only add noise. Clip
        # strong edges so a few high-contrast lines cannot dominate the correlation.
        detail = image - cv2.blur(image, (_HIGHPASS_KSIZE, _HIGHPASS_KSIZE), borderType=cv2.BORDER_REFLECT)
        detail = np.clip(detail, -3 * AMPLITUDE, 3 * AMPLITUDE)
        # Textured places (hair, lashes) hold far more detail than the mark: weigh each pixel by how quiet its
        # neighbourhood is, so flat skin and background, where the mark is alone, count most.
        energy = cv2.blur(detail * detail, (_HIGHPASS_KSIZE, _HIGHPASS_KSIZE), borderType=cv2.BORDER_REFLECT)
        detail = detail / np.sqrt(energy + AMPLITUDE**2)
        h, w = detail.shape
        if min(h, w) < TILE:
            return 0.0
        # Fold every pixel (partial tiles at the far edges too) into one tile.
        index = (np.arange(h)[:, None] % TILE) * TILE + np.arange(w)[None, :] % TILE
        folded = np.bincount(index.ravel(), detail.ravel(), TILE * TILE).reshape(TILE, TILE)
        corr = np.real(np.fft.ifft2(np.fft.fft2(folded) * self._key_spectrum))
        peak = np.unravel_index(int(np.argmax(corr)), corr.shape)
        # Shifts within a cell of the peak still overlap it; keep them out of the null sample.
        rows = (np.arange(TILE) - peak[0] + TILE // 2) % TILE - TILE // 2
        cols = (np.arange(TILE) - peak[1] + TILE // 2) % TILE - TILE // 2
        far = (np.abs(rows)[:, None] >= CELL) | (np.abs(cols)[None, :] >= CELL)
        null = corr[far]
        spread = float(null.std())
        return 0.0 if spread == 0 else float((corr[peak] - null.mean()) / spread)


def _tile_periods(mean: np.ndarray) -> list[float]:
    """Candidate tile periods (file pixels) of a repeated pattern in ``mean``: the strongest peaks of its
    high-passed autocorrelation along the two axes, refined to a fraction of a pixel."""
    detail = mean - cv2.GaussianBlur(mean, (0, 0), 3.0)
    detail = np.clip(detail, -3 * AMPLITUDE, 3 * AMPLITUDE)
    energy = cv2.GaussianBlur(detail * detail, (0, 0), 4.0)
    detail = detail / np.sqrt(energy + AMPLITUDE**2)
    detail -= detail.mean()
    spectrum = np.abs(np.fft.rfft2(detail)) ** 2
    auto = np.fft.irfft2(spectrum, s=detail.shape)
    h, w = detail.shape
    longest = min(h, w) // 2
    shortest = CELLS * MIN_CELL // 2  # a tile half the smallest we write: a downscale to half of a 256² render
    if longest <= shortest + 2:
        return [min(h, w) / 4]
    profile = auto[0, : longest + 1] + auto[: longest + 1, 0]
    lags = np.arange(shortest, longest)
    # Peaks only: a lag higher than both neighbours.
    peaks = [lag for lag in lags if profile[lag] >= profile[lag - 1] and profile[lag] >= profile[lag + 1]]
    peaks.sort(key=lambda lag: -profile[lag])
    # The periods of a whole render at any size, and of one cropped by 5-15 %, come first; then the strongest
    # autocorrelation peaks (any other scale), which strong content can outshine.
    periods = [min(h, w) / 4 / keep for keep in _KEPT_SHARES]
    for lag in peaks[:_PERIOD_CANDIDATES]:
        left, centre, right = profile[lag - 1], profile[lag], profile[lag + 1]
        curvature = left - 2 * centre + right
        offset = 0.5 * (left - right) / curvature if curvature < 0 else 0.0
        periods.append(float(lag + np.clip(offset, -0.5, 0.5)))
    return periods


def detect(frames: Iterable[np.ndarray], key: int = WATERMARK_KEY,
           threshold: float = DETECTION_THRESHOLD) -> Detection:
    """Score an iterable of RGB uint8 frames for the mark."""
    detector = Detector(key)
    for frame in frames:
        detector.add(frame)
    return detector.result(threshold)
