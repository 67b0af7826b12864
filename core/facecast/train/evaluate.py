"""Quality metrics, with the definitions of DESIGN.md ("How quality is measured"), and the evaluation of
animators on a corpus's held-out voices.

- bilabial closure: share of /p/, /b/, /m/ during which the lips are shut in at least one frame;
- curve error: mean absolute error over the 52 blendshapes against a reference (teacher or capture);
- blinks per minute; head jitter: mean |second difference| of head yaw/pitch/roll (radians per frame²); head
  speed: their mean angular speed (rad/s) after a 5-frame moving average;
- lip-sync r: Pearson r between JawOpen and a measured mouth opening, at lag 0 and the best lag in ±5 frames.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from facecast.controls import Controls
from facecast.motion import CHANNEL_INDEX as C
from facecast.motion import NUM_BLENDSHAPES, MotionClip
from facecast.phonemes import Phone
from facecast.phonemes.inventory import BILABIALS, SILENCE

LIPS_SHUT_BELOW = 0.06  # lip aperture (see lip_aperture) under which the lips count as shut
BLINK_ABOVE = 0.5
MAX_LAG_FRAMES = 5
SPEED_SMOOTH_FRAMES = 5
HEAD = [C["HeadYaw"], C["HeadPitch"], C["HeadRoll"]]


def lip_aperture(values: np.ndarray) -> np.ndarray:
    """How far the lips are apart per frame [T] (0 = shut): the jaw's opening not cancelled by MouthClose,
    plus the lips' own opening (lower lip down, upper lip up, funnel)."""
    jaw = np.maximum(values[:, C["JawOpen"]] - values[:, C["MouthClose"]], 0)
    lips = 0.5 * (values[:, C["MouthLowerDownLeft"]] + values[:, C["MouthLowerDownRight"]]) * 0.5 \
        + 0.5 * (values[:, C["MouthUpperUpLeft"]] + values[:, C["MouthUpperUpRight"]]) * 0.5
    return jaw + lips + 0.3 * values[:, C["MouthFunnel"]]


def bilabial_closure(values: np.ndarray, phones: list[Phone], fps: int) -> tuple[int, int]:
    """(closed, total) over the /p/ /b/ /m/ in ``phones``: closed when some frame overlapping the phone (or
    the frame nearest its middle, for phones shorter than a frame) has the lips shut."""
    shut = lip_aperture(values) < LIPS_SHUT_BELOW
    closed = total = 0
    for phone in phones:
        if phone.symbol not in BILABIALS:
            continue
        first = int(np.floor(phone.start * fps))
        last = max(first, int(np.ceil(phone.end * fps)) - 1)
        frames = shut[max(first, 0):min(last + 1, len(shut))]
        if len(frames) == 0:
            continue
        total += 1
        closed += bool(frames.any())
    return closed, total


def curve_error(values: np.ndarray, reference: np.ndarray) -> float:
    """Mean absolute error over the 52 blendshapes (frames beyond the shorter clip ignored)."""
    n = min(len(values), len(reference))
    return float(np.mean(np.abs(values[:n, :NUM_BLENDSHAPES] - reference[:n, :NUM_BLENDSHAPES]))) if n else 0.0


def blink_count(values: np.ndarray) -> int:
    closed = (values[:, C["EyeBlinkLeft"]] > BLINK_ABOVE).astype(np.int8)
    return int(np.sum(np.diff(np.concatenate([[0], closed])) == 1))


def blinks_per_minute(values: np.ndarray, fps: int) -> float:
    return blink_count(values) / (len(values) / fps / 60) if len(values) else 0.0


def head_jitter(values: np.ndarray) -> float:
    """Mean |second difference| of head yaw, pitch and roll (radians per frame²)."""
    head = values[:, HEAD]
    return float(np.mean(np.abs(np.diff(head, n=2, axis=0)))) if len(head) > 2 else 0.0


def head_speed(values: np.ndarray, fps: int) -> float:
    """Mean angular speed of the head (yaw, pitch and roll together, rad/s) after a centred moving average of
    :data:`SPEED_SMOOTH_FRAMES` frames: a capture's per-frame tracking noise would otherwise count as motion."""
    head = values[:, HEAD].astype(np.float64)
    if len(head) <= SPEED_SMOOTH_FRAMES:
        return 0.0
    kernel = np.ones(SPEED_SMOOTH_FRAMES) / SPEED_SMOOTH_FRAMES
    smooth = np.stack([np.convolve(head[:, k], kernel, mode="valid") for k in range(3)], 1)
    return float(np.mean(np.linalg.norm(np.diff(smooth, axis=0), axis=1)) * fps)


def lipsync_r(jaw: np.ndarray, mouth: np.ndarray, max_lag: int = MAX_LAG_FRAMES) -> tuple[float, float, int]:
    """Pearson r between predicted JawOpen and a measured mouth opening: (r at lag 0, best r, its lag).
    A positive lag means the prediction is late (it matches the measurement ``lag`` frames earlier)."""
    n = min(len(jaw), len(mouth))
    jaw, mouth = np.asarray(jaw[:n], float), np.asarray(mouth[:n], float)

    def r_at(lag: int) -> float:
        a, b = (jaw[lag:], mouth[:n - lag]) if lag >= 0 else (jaw[:n + lag], mouth[-lag:])
        if len(a) < 3 or a.std() == 0 or b.std() == 0:
            return 0.0
        return float(np.corrcoef(a, b)[0, 1])

    lags = {lag: r_at(lag) for lag in range(-max_lag, max_lag + 1)}
    best = max(lags, key=lags.get)
    return lags[0], lags[best], best


def boundary_errors(reference: list[Phone], hypothesis: list[Phone]) -> np.ndarray:
    """|start difference| (seconds) of the phones that an edit-distance alignment of the two phone sequences
    (silences left out) pairs with the same symbol: how well alignment or recognition places known phones."""
    ref = [p for p in reference if p.symbol != SILENCE]
    hyp = [p for p in hypothesis if p.symbol != SILENCE]
    cost = np.zeros((len(ref) + 1, len(hyp) + 1), np.int32)
    cost[:, 0], cost[0, :] = np.arange(len(ref) + 1), np.arange(len(hyp) + 1)
    for i, r in enumerate(ref, 1):
        for j, h in enumerate(hyp, 1):
            cost[i, j] = min(cost[i - 1, j] + 1, cost[i, j - 1] + 1, cost[i - 1, j - 1] + (r.symbol != h.symbol))
    errors, i, j = [], len(ref), len(hyp)
    while i > 0 and j > 0:
        if cost[i, j] == cost[i - 1, j - 1] + (ref[i - 1].symbol != hyp[j - 1].symbol):
            if ref[i - 1].symbol == hyp[j - 1].symbol:
                errors.append(abs(ref[i - 1].start - hyp[j - 1].start))
            i, j = i - 1, j - 1
        elif cost[i, j] == cost[i - 1, j] + 1:
            i -= 1
        else:
            j -= 1
    return np.array(errors[::-1])


AnimateFn = Callable[[Any, Controls], MotionClip]  # (corpus item, controls) -> clip


def evaluate_items(items: list[Any], animators: dict[str, AnimateFn], fps: int = 30) -> dict[str, dict[str, float]]:
    """Metrics per animator over corpus items (see :class:`facecast.train.corpus.CorpusItem`): bilabial
    closure against the exact phones and curve error against the teacher, per item; blink rate and head
    jitter on all items played back to back (a blink every few seconds cannot show in one short sentence)."""
    from facecast.train.corpus import concatenate_items

    long_item = concatenate_items(items)
    results: dict[str, dict[str, float]] = {}
    for name, animate in animators.items():
        closed = total = 0
        errors = []
        for item in items:
            clip = animate(item, Controls(seed=int(item.info.get("seed", 0))))
            c, t = bilabial_closure(clip.values, item.phones, fps)
            closed, total = closed + c, total + t
            errors.append(curve_error(clip.values, item.motion))
        long_clip = animate(long_item, Controls(seed=0))
        results[name] = {
            "bilabial_closure": closed / total if total else float("nan"),
            "bilabials": total,
            "curve_error": float(np.mean(errors)) if errors else float("nan"),
            "blinks_per_minute": blinks_per_minute(long_clip.values, fps),
            "head_jitter": head_jitter(long_clip.values),
            "items": len(items),
            "minutes": long_clip.duration / 60,
        }
    return results
