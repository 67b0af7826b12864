"""How alive a take is, compared with a capture of a real face (DESIGN.md, "Motion naturalness").

- moving shapes: a blendshape moves when the spread of its values over the take, 95th minus 5th percentile, is
  at least :data:`MOVES_ABOVE` (2 % of its full range);
- left/right pairs: the 20 blendshapes whose names end in Left with their Right twin; mean |L - R| over all
  pairs and frames, and how many pairs are bit-identical over the whole take;
- head speed: mean angular speed of (yaw, pitch, roll) in rad/s, after a centred moving average of
  5 frames (:func:`facecast.train.evaluate.head_speed`: a capture's per-frame tracking noise would otherwise count);
- blinks per minute and head jitter: :mod:`facecast.train.evaluate`'s definitions;
- seed diversity: the same audio animated with different seeds; mean |difference| of the head angles between
  seeds (degrees) and the largest |difference| of JawOpen (the mouth should not change).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from facecast.motion import BLENDSHAPES, CHANNEL_INDEX, NUM_BLENDSHAPES
from facecast.train.evaluate import HEAD, blinks_per_minute, head_jitter, head_speed

MOVES_ABOVE = 0.02
PAIRS: tuple[tuple[int, int], ...] = tuple(
    (CHANNEL_INDEX[name], CHANNEL_INDEX[name[:-4] + "Right"]) for name in BLENDSHAPES if name.endswith("Left"))


def moving_shapes(values: np.ndarray) -> int:
    """How many of the 52 blendshapes move (5th-95th percentile spread ≥ :data:`MOVES_ABOVE`)."""
    if len(values) == 0:
        return 0
    low, high = np.percentile(values[:, :NUM_BLENDSHAPES], [5, 95], axis=0)
    return int(np.sum(high - low >= MOVES_ABOVE))


def left_right(values: np.ndarray) -> tuple[float, int]:
    """(mean |L - R| over the pairs and frames, number of pairs that are bit-identical)."""
    diffs = [np.abs(values[:, left] - values[:, right]) for left, right in PAIRS]
    identical = sum(bool(np.array_equal(values[:, left], values[:, right])) for left, right in PAIRS)
    return (float(np.mean(diffs)) if len(values) else 0.0), identical


def naturalness(takes: list[np.ndarray], fps: int) -> dict[str, Any]:
    """Statistics over several takes [T, 61] (moving shapes and blinks over all frames together; speeds and
    jitter averaged over takes, weighted by length)."""
    frames = np.concatenate(takes) if takes else np.zeros((0, 61), np.float32)
    weights = np.array([len(t) for t in takes], float)
    mean_lr, identical = left_right(frames)
    return {
        "moving_shapes": moving_shapes(frames),
        "lr_mean_abs": mean_lr,
        "lr_identical_pairs": identical,
        "lr_pairs": len(PAIRS),
        "head_speed_rad_s": float(np.average([head_speed(t, fps) for t in takes], weights=weights)),
        "blinks_per_minute": blinks_per_minute(frames, fps),
        "head_jitter": float(np.average([head_jitter(t) for t in takes], weights=weights)),
        "minutes": len(frames) / fps / 60,
    }


def seed_diversity(takes_by_seed: list[np.ndarray]) -> dict[str, float]:
    """How different seeds' takes of the same audio are: head (mean |Δ| in degrees, mean Pearson r of yaw over
    seed pairs) and mouth (largest |Δ JawOpen|)."""
    head_diffs, yaw_rs, jaw_diffs = [], [], []
    jaw = CHANNEL_INDEX["JawOpen"]
    for a, b in itertools.combinations(takes_by_seed, 2):
        n = min(len(a), len(b))
        head_diffs.append(np.degrees(np.mean(np.abs(a[:n, HEAD] - b[:n, HEAD]))))
        ya, yb = a[:n, HEAD[0]], b[:n, HEAD[0]]
        yaw_rs.append(float(np.corrcoef(ya, yb)[0, 1]) if ya.std() > 0 and yb.std() > 0 else 1.0)
        jaw_diffs.append(float(np.max(np.abs(a[:n, jaw] - b[:n, jaw]))) if n else 0.0)
    return {
        "head_diff_deg": float(np.mean(head_diffs)) if head_diffs else 0.0,
        "yaw_r_between_seeds": float(np.mean(yaw_rs)) if yaw_rs else 1.0,
        "jaw_max_diff": float(np.max(jaw_diffs)) if jaw_diffs else 0.0,
        "seeds": len(takes_by_seed),
    }
