"""Thinning keyframes under an error bound, for exports that take ``max_error``.

Curves are sampled at every frame; with linear interpolation between kept keys most frames of a smooth curve
are redundant. :func:`reduce_keys` keeps the fewest keys it finds (Ramer-Douglas-Peucker on the curve, split at
the worst frame until every dropped frame is within ``max_error`` of the line between its neighbouring keys) so
that the interpolated curve stays within ``max_error`` of every original sample, in every component.
"""

from __future__ import annotations

import numpy as np

from facecast.errors import InvalidInput


def reduce_keys(values: np.ndarray, max_error: float | None) -> np.ndarray:
    """Indices of the frames to keep for ``values`` [T] or [T, C], sorted; all frames when ``max_error`` is None.

    Components share keys (a glTF ``weights`` sampler or a USD array attribute holds all of them per key), so
    a frame is kept when any component needs it. The first and last frames are always kept.
    """
    samples = np.asarray(values, np.float64)
    count = len(samples)
    if max_error is None or count <= 2:
        return np.arange(count)
    if not max_error >= 0:
        raise InvalidInput(f"max_error must be zero or positive, not {max_error}")
    samples = samples.reshape(count, -1)
    keep = np.zeros(count, bool)
    keep[[0, -1]] = True
    stack = [(0, count - 1)]
    while stack:
        start, end = stack.pop()
        if end - start < 2:
            continue
        fraction = (np.arange(start + 1, end) - start)[:, None] / (end - start)
        line = samples[start] + fraction * (samples[end] - samples[start])
        error = np.abs(samples[start + 1 : end] - line).max(axis=1)
        worst = int(np.argmax(error))
        if error[worst] > max_error:
            split = start + 1 + worst
            keep[split] = True
            stack += [(start, split), (split, end)]
    return np.flatnonzero(keep)
