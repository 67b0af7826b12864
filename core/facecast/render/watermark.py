"""Invisible watermark: a key-seeded ±1 pattern of 4×4-pixel cells added at low amplitude to every frame.

Why this design: H.264 codes each 4×4 block's mean (its DC coefficient) more faithfully than any finer detail,
so cells aligned to the 4×4 grid survive compression at the default quality; the pattern is static, so the
encoder carries it from frame to frame. The pattern is a 128×128-pixel tile repeated over the frame.

Detection folds the high-passed luma of every frame into one tile-sized accumulator and cross-correlates it
with the key tile at every cyclic shift (one FFT). The correlation at shift (0, 0) is compared with the
distribution at all the other shifts (far from 0), which is what an unmarked picture looks like: the score is
a z-score, large for a marked file and about N(0, 1) for an unmarked one, whatever the picture content.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

WATERMARK_KEY = 0x46434153  # "FCAS": the key every facecast render carries
CELL = 4  # pixels per pattern cell, aligned with H.264's 4×4 transform blocks
TILE = 128  # pixels per repeated tile side
AMPLITUDE = 2.0  # grey levels added to or taken from R, G and B alike
DETECTION_THRESHOLD = 8.0  # z-score; unmarked material stays below ~4, marked renders score tens or more
_HIGHPASS_KSIZE = 2 * CELL + 1


@dataclass(frozen=True)
class Detection:
    """Outcome of :func:`detect`: ``score`` is a z-score, ``marked`` is ``score >= threshold``."""

    score: float
    frames: int
    threshold: float = DETECTION_THRESHOLD

    @property
    def marked(self) -> bool:
        return self.score >= self.threshold


def pattern_tile(key: int = WATERMARK_KEY) -> np.ndarray:
    """The ±1 float32 tile [TILE, TILE] made of CELL×CELL cells, drawn from a generator seeded by ``key``."""
    cells = np.random.default_rng(key).integers(0, 2, size=(TILE // CELL, TILE // CELL)) * 2 - 1
    return np.kron(cells, np.ones((CELL, CELL))).astype(np.float32)


def pattern_for(height: int, width: int, key: int = WATERMARK_KEY) -> np.ndarray:
    """The tile repeated over a ``height``×``width`` frame (anchored at the top-left corner)."""
    reps = (-(-height // TILE), -(-width // TILE))
    return np.tile(pattern_tile(key), reps)[:height, :width]


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
    """Accumulates frames of one file, then scores them against the key."""

    def __init__(self, key: int = WATERMARK_KEY) -> None:
        self._tile = pattern_tile(key)
        self._acc = np.zeros((TILE, TILE), np.float64)
        self.frames = 0

    def add(self, frame: np.ndarray) -> None:
        """Add one RGB (or grey) uint8 frame."""
        luma = (frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)).astype(np.float32)
        # High-pass: the mark lives in cell-sized detail; the picture's broad shapes would only add noise.
        detail = luma - cv2.blur(luma, (_HIGHPASS_KSIZE, _HIGHPASS_KSIZE), borderType=cv2.BORDER_REFLECT)
        # Clip strong edges so a few high-contrast lines cannot dominate the correlation.
        detail = np.clip(detail, -3 * AMPLITUDE, 3 * AMPLITUDE)
        h, w = detail.shape
        h_full, w_full = h // TILE * TILE, w // TILE * TILE
        if h_full == 0 or w_full == 0:
            raise ValueError(f"frame {w}x{h} is smaller than the {TILE}-pixel watermark tile")
        tiles = detail[:h_full, :w_full].reshape(h_full // TILE, TILE, w_full // TILE, TILE)
        self._acc += tiles.sum(axis=(0, 2))
        self.frames += 1

    def result(self, threshold: float = DETECTION_THRESHOLD) -> Detection:
        """Score the frames added so far (a z-score of the correlation at zero shift)."""
        if self.frames == 0:
            return Detection(0.0, 0, threshold)
        corr = np.real(np.fft.ifft2(np.fft.fft2(self._acc) * np.conj(np.fft.fft2(self._tile))))
        # Shifts within one cell of zero still overlap the true alignment; keep them out of the null sample.
        near = np.zeros_like(corr, dtype=bool)
        for dy in range(-CELL + 1, CELL):
            for dx in range(-CELL + 1, CELL):
                near[dy % TILE, dx % TILE] = True
        null = corr[~near]
        spread = float(null.std())
        score = 0.0 if spread == 0 else float((corr[0, 0] - null.mean()) / spread)
        return Detection(score, self.frames, threshold)


def detect(frames, key: int = WATERMARK_KEY, threshold: float = DETECTION_THRESHOLD) -> Detection:
    """Score an iterable of RGB uint8 frames for the mark."""
    detector = Detector(key)
    for frame in frames:
        detector.add(frame)
    return detector.result(threshold)
