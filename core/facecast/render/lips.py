"""Lip corners that stay pointed as the mouth opens wide.

The rig's JawOpen (and MouthLowerDown, MouthStretch) drops the lower lip almost as far beside the corners as in
the middle, so a wide-open mouth becomes a box: the inner lip contour has near-vertical sides just inside the
corners, and the warp stretches the few pixels of lip there into vertical streaks. A real mouth opens as a lens
(the lips meet at the corners at an angle): :func:`taper_opening` caps how far each lower-lip point drops below
the line between the moved corners at a lens profile of the middle's drop, ``drop_mid * (1 - t²)``
(t = -1 … 1 from corner to corner, 0 at the lip's middle point), once the lips part well beyond rest (faded in
over :data:`PARTED`). Where the rig's profile already lies inside it, and for closed lips (a one-sided smile
tilts the corner line without opening anything), it changes nothing; the skin below the lip takes up the
difference.
"""

from __future__ import annotations

import numpy as np

from facecast.face import topology as topo

# (lower-lip contour without its corners, its middle point, its two corners)
_INNER, _OUTER = topo.LIPS_INNER_LOWER, topo.LIPS_OUTER_LOWER
_CONTOURS = (
    (np.array(_INNER[1:-1]), _INNER[len(_INNER) // 2], (_INNER[0], _INNER[-1])),
    (np.array(_OUTER[1:-1]), _OUTER[len(_OUTER) // 2], (_OUTER[0], _OUTER[-1])),
)
MIN_DROP = 0.5  # pixels: lips parted less than this beyond rest are left as the rig has them
PARTED = (0.04, 0.12)  # lips parted beyond rest by these shares of the mouth width: the lens fades in (a pucker's
# or a slight opening's lips stay as the rig has them)


def taper_opening(moved: np.ndarray, carried: np.ndarray) -> np.ndarray:
    """``moved`` [468, 2+] with the lower lip's drop beside the corners capped at a lens profile; ``carried``
    [468, 2+]: the rest mesh carried by the head rotation alone (where the lips rest in this frame)."""
    out = np.array(moved, dtype=np.float32, copy=True)
    upper, lower = topo.UPPER_LIP_MID, topo.LOWER_LIP_MID
    parted = float(np.linalg.norm(moved[lower, :2] - moved[upper, :2])
                   - np.linalg.norm(carried[lower, :2] - carried[upper, :2]))
    width = float(np.linalg.norm(carried[topo.MOUTH_CORNER_LEFT, :2] - carried[topo.MOUTH_CORNER_RIGHT, :2]))
    strength = float(np.clip((parted / max(width, 1.0) - PARTED[0]) / (PARTED[1] - PARTED[0]), 0.0, 1.0))
    if parted < MIN_DROP or strength <= 0:
        return out
    for points, middle, (a, b) in _CONTOURS:
        rest = carried[:, :2].astype(np.float64)
        axis = rest[b] - rest[a]
        length2 = float(axis @ axis)
        if length2 < 1.0:
            continue
        frac = np.clip(((rest[points] - rest[a]) @ axis) / length2, 0.0, 1.0)
        shift = moved[:, :2].astype(np.float64) - rest
        corner = shift[a][None] + frac[:, None] * (shift[b] - shift[a])[None]
        excess = shift[points] - corner  # each point's motion beyond the corners' (interpolated)
        mid_frac = float(np.clip(((rest[middle] - rest[a]) @ axis) / length2, 0.0, 1.0))
        mid_excess = shift[middle] - (shift[a] + mid_frac * (shift[b] - shift[a]))
        drop = float(np.linalg.norm(mid_excess))
        if drop < MIN_DROP:
            continue
        down = mid_excess / drop
        along = excess @ down
        # -1 … 1 from corner to corner, 0 at the middle point (whose own drop is the profile's peak)
        t = np.where(frac < mid_frac, (frac - mid_frac) / max(mid_frac, 1e-6),
                     (frac - mid_frac) / max(1.0 - mid_frac, 1e-6))
        cap = drop * np.clip(1.0 - t * t, 0.0, 1.0)
        cut = np.clip(along - cap, 0.0, None)  # only what drops further than the lens allows
        out[points, :2] -= (strength * cut[:, None] * down[None]).astype(np.float32)
    return out
