"""Dense warp of the portrait driven by the moved face mesh.

Per avatar (once): the rest landmarks, plus anchor rings around the head and on the picture border, are
triangulated (Delaunay); every pixel of a coarse grid gets its triangle's barycentric weights, stored as a
sparse matrix. Per frame: the landmark displacements are spread over the grid by that matrix (one sparse
product), smoothed, inverted into a backward map by fixed-point iteration, upsampled and applied with
``cv2.remap``. The rings carry the head's own rigid motion with a falloff (full at the face border, half in the
hair, none at the picture border and less towards the neck), so there is no tearing at the face border and the
background stays still.
"""

from __future__ import annotations

import cv2
import numpy as np
import scipy.sparse
from scipy.spatial import Delaunay

from facecast.render.head import BAND_RING, EDGE_TRIANGLES, HeadSurface, ring_scales
from facecast.render.regions import CHIN, FACE_OVAL, RIGID_HEAD

FLOW_DOWNSCALE = 2  # the flow is computed at size / FLOW_DOWNSCALE and upsampled; the picture is warped at size
INVERSION_STEPS = 2
SURFACE_SMOOTHING = 1.0  # flow-grid pixels: Gaussian sigma over the surface warp's backward field
STILL_PIXELS = 0.25  # output pixels: a triangle whose corners all move less than this is not drawn (on zero)
MIN_TRIANGLE_AREA = 0.25  # flow-grid pixels²: a triangle squashed flatter than this (a shut lid's) is not drawn
# (radius as a multiple of the face-oval radius, share of the head's motion it follows)
HEAD_RINGS = ((BAND_RING, 1.0), (1.6, 0.45))  # the first ring is the head's outline (further out where the face
# reaches beyond it: :func:`facecast.render.head.ring_scales`; the rings beyond keep their distance from it)
BORDER_POINTS_PER_SIDE = 8
NECK_FOLLOW = 0.35  # share of the head's motion the neck below the chin follows


class WarpField:
    """Turns moved landmarks into a backward map and warps the picture with it."""

    def __init__(self, rest: np.ndarray, size: int, rigid: np.ndarray = RIGID_HEAD, *, surface: bool = False) -> None:
        """``rest``: landmarks [468, 2+] in output pixels of a ``size``×``size`` frame; ``rigid``: indices of
        landmarks that only the head's own motion moves (no blendshape does), to measure that motion by.
        ``surface``: turn the head as a surface (:mod:`facecast.render.head`; ``rest`` must then have its z)
        when :meth:`backward_map` is given the head's angles, instead of carrying the anchors by the 2-D affine
        of the rigid points."""
        self.size = size
        self._rigid = np.asarray(rigid)
        self.rest = np.asarray(rest[:, :2], np.float32)
        anchors, self._anchor_follow = _anchor_points(self.rest, size)
        self.surface = HeadSurface(rest, anchors, self._anchor_follow, _ring_follow(self.rest)) if surface else None
        points = np.concatenate([self.rest, anchors]).astype(np.float64)
        self._num_landmarks = len(self.rest)
        self._anchors = anchors.astype(np.float32)
        self._points = points.astype(np.float32)
        self._simplices = None
        if self.surface is not None:
            # The Delaunay triangles between the face oval and the first ring are long slivers that kink a cheek
            # edge crossing them: the band's regular strip covers that ring instead.
            simplices = Delaunay(points).simplices
            gap = np.linalg.norm(anchors[:, None] - self.surface.ring[None].astype(np.float32), axis=2).min(axis=1)
            under_band = np.isin(simplices, np.r_[FACE_OVAL, len(self.rest) + np.flatnonzero(gap < 1e-3)]).all(axis=1)
            self._simplices = simplices[~under_band]
        self.flow_size = max(16, size // FLOW_DOWNSCALE)
        step = size / self.flow_size
        # Grid of flow-pixel centres in output-pixel coordinates.
        axis = (np.arange(self.flow_size, dtype=np.float32) + 0.5) * step - 0.5
        gx, gy = np.meshgrid(axis, axis)
        self._grid = np.stack([gx, gy], axis=-1)  # [F, F, 2] output pixels
        self._weights = None if surface else _barycentric_matrix(points, self._grid.reshape(-1, 2))
        self._step = step
        self._smooth_sigma = 0.6 * max(1.0, 4.0 / step)
        self._pixels = np.meshgrid(np.arange(size, dtype=np.float32), np.arange(size, dtype=np.float32))
        self._pixel_grid = np.stack(self._pixels, axis=-1)  # [size, size, 2]: each pixel's own position

    def head_motion(self, moved: np.ndarray) -> np.ndarray:
        """The 2×3 affine that best maps the rigid head points from rest to ``moved`` (least squares)."""
        src = self.rest[self._rigid]
        dst = moved[self._rigid, :2]
        design = np.concatenate([src, np.ones((len(src), 1), np.float32)], axis=1)
        solution, *_ = np.linalg.lstsq(design, dst, rcond=None)
        return solution.T.astype(np.float32)

    def displacements(self, moved: np.ndarray, angles: np.ndarray | None = None) -> np.ndarray:
        """Forward displacement of every triangulation vertex [N + anchors, 2]; ``angles`` (head yaw, pitch,
        roll) let a surface warp turn the anchors with the head."""
        if self.surface is not None and angles is not None:
            anchor_shift = self.surface.anchor_motion(angles)[0]
        else:
            affine = self.head_motion(moved)
            anchors_moved = self._anchors @ affine[:, :2].T + affine[:, 2]
            anchor_shift = (anchors_moved - self._anchors) * self._anchor_follow[:, None]
        return np.concatenate([moved[:, :2] - self.rest, anchor_shift]).astype(np.float32)

    def backward_map(self, moved: np.ndarray, angles: np.ndarray | None = None,
                     shift: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray] | None:
        """Maps (x, y) float32 [size, size] for ``cv2.remap``, or None when nothing moves. ``angles``: the head's
        (yaw, pitch, roll) of this frame, for a surface warp; ``shift``: its translation in the picture [2]
        (output pixels, already in ``moved``)."""
        if self.surface is not None:
            source = self._surface_source(moved, angles, shift)
            return None if source is None else (source[..., 0], source[..., 1])
        displacement = self.displacements(moved, angles)  # the 2-D warp reads the shift from ``moved``
        largest = float(np.abs(displacement).max())
        if largest < 1e-3:
            return None
        f = self.flow_size
        forward = (self._weights @ displacement).reshape(f, f, 2).astype(np.float32)
        forward = cv2.GaussianBlur(forward, (0, 0), self._smooth_sigma)
        # Invert the forward displacement D: the source of output pixel p is s with s + D(s) = p.
        source = self._grid.copy()
        scale = 1.0 / self._step
        for _ in range(INVERSION_STEPS):
            at = (source + 0.5) * scale - 0.5  # output pixels -> flow-grid pixels
            d = cv2.remap(forward, at[..., 0], at[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            source = self._grid - d
        backward = source - self._grid  # displacement field, smooth, so it upsamples well
        backward = cv2.resize(backward, (self.size, self.size), interpolation=cv2.INTER_LINEAR)
        return self._pixels[0] + backward[..., 0], self._pixels[1] + backward[..., 1]

    def _surface_field(self, moved: np.ndarray, angles: np.ndarray, shift: np.ndarray | None) -> np.ndarray | None:
        """Backward displacement [F, F, 2] of the surface warp: every moved triangle is drawn with the affine map
        back onto its rest triangle, the band round the face first (it lies at the head's outline, behind the
        face), then the mesh far triangles first (so the nose covers the cheek it turns over), then the gap a turn
        uncovers; None when nothing moves. ``shift``: the head's translation in the picture [2], which the anchors
        follow by their share."""
        assert self.surface is not None and self._simplices is not None
        anchor_shift, anchor_depth = self.surface.anchor_motion(angles, shift)
        displacement = np.concatenate([moved[:, :2] - self.rest, anchor_shift])
        if float(np.abs(displacement).max()) < 1e-3:
            return None
        depth = np.concatenate([moved[:, 2], anchor_depth])
        order = np.argsort(depth[self._simplices].mean(axis=1), kind="stable")
        simplices = self._simplices[order]
        band_out, band_src, over = self.surface.band(moved, angles, shift)
        # The face's own edge band lies under the mesh (on the far side the cheek turns over it) and, as a turn
        # widens it, comes to lie over the mesh's outer strip (faded in, so nothing pops); the gap goes last.
        edge = EDGE_TRIANGLES
        out = np.concatenate([band_out[:edge], (self._points + displacement)[simplices]])
        src = np.concatenate([band_src[:edge], self._points[simplices]])
        field = np.zeros((self.flow_size, self.flow_size, 2), np.float32)
        _paint_triangles(field, self._grid, 1.0 / self._step, out, src, skip_still=True)
        # Soften the creases along mesh edges and the steps where a fold hides a sliver; the widened band is a
        # regular strip whose mirror a blur would squash, so it is drawn after.
        field = np.asarray(cv2.GaussianBlur(field, (0, 0), SURFACE_SMOOTHING), np.float32)
        lifted = np.flatnonzero(over[:edge] > 0)
        _paint_triangles(field, self._grid, 1.0 / self._step, band_out[lifted], band_src[lifted],
                         blend=over[lifted])
        _paint_triangles(field, self._grid, 1.0 / self._step, band_out[EDGE_TRIANGLES:], band_src[EDGE_TRIANGLES:],
                         mirrored=True)
        return field

    def _surface_source(self, moved: np.ndarray, angles: np.ndarray | None,
                        shift: np.ndarray | None = None) -> np.ndarray | None:
        """The surface warp's source pixel of every output pixel, float32 [size, size, 2], or None."""
        backward = self._surface_field(moved, np.zeros(3) if angles is None else np.asarray(angles, np.float64),
                                       shift)
        if backward is None:
            return None
        backward = cv2.resize(backward, (self.size, self.size), interpolation=cv2.INTER_LINEAR)
        return np.add(backward, self._pixel_grid, dtype=np.float32)

    def warp(self, image: np.ndarray, moved: np.ndarray, angles: np.ndarray | None = None,
             shift: np.ndarray | None = None) -> np.ndarray:
        """The picture with its face moved to ``moved`` landmarks (and its head turned by ``angles`` and moved
        across the picture by ``shift`` [2], output pixels, already in ``moved``: the 2-D warp reads it from there,
        the surface warp's anchors follow it by their share)."""
        if self.surface is not None:
            source = self._surface_source(moved, angles, shift)
            if source is None:
                return image.copy()
            return cv2.remap(image, source, None, cv2.INTER_LINEAR,  # type: ignore[call-overload]
                             borderMode=cv2.BORDER_REPLICATE)
        maps = self.backward_map(moved, angles)
        if maps is None:
            return image.copy()
        return cv2.remap(image, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _ring_follow(rest: np.ndarray) -> np.ndarray:
    """The share of the head's motion each point of the innermost anchor ring follows [36]."""
    return _anchor_rings(rest)[1][0]


def _anchor_rings(rest: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The anchor rings around the head (all points, none dropped) and their follow shares."""
    oval = rest[FACE_OVAL]
    centre = oval.mean(axis=0)
    radius = np.linalg.norm(oval - centre, axis=1).mean()
    chin_y = rest[CHIN, 1]
    points, follow = [], []
    outline = ring_scales(rest)
    for ring_scale, share in HEAD_RINGS:
        ring = centre + (oval - centre) * (outline + ring_scale - BAND_RING)[:, None]
        # Below the chin is the neck, which turns much less than the head.
        below = np.clip((ring[:, 1] - chin_y) / (0.5 * radius), 0, 1)
        points.append(ring)
        follow.append(share * (1 - below * (1 - NECK_FOLLOW)))
    return points, follow


def _paint_triangles(field: np.ndarray, grid: np.ndarray, scale: float, out_tris: np.ndarray,
                     src_tris: np.ndarray, *, mirrored: bool = False, skip_still: bool = False,
                     blend: np.ndarray | None = None) -> None:
    """Overwrite the backward displacement ``field`` [F, F, 2] (at flow-grid points ``grid``, output pixels) inside
    each output triangle ``out_tris`` [K, 3, 2] with the affine map onto its source triangle ``src_tris``, later
    triangles over earlier ones. A triangle turned over (its corners in the other order than in the source) is a
    fold: the surface there has turned away, and what covers it is drawn instead, so it is skipped (unless
    ``mirrored``: triangles meant to show their source mirrored). ``blend`` [K]: each triangle's share of its
    own map against what the field held (1 = overwrite). With ``skip_still`` (on a field of zeros)
    triangles that hardly move are left out."""
    f = field.shape[0]
    count = len(out_tris)
    label = np.full((f, f), count, np.int32)  # index ``count``: no triangle, the field stays as it was
    corners = (out_tris + 0.5) * scale - 0.5  # output pixels -> flow-grid pixels
    area = _signed_area(corners)
    area = np.abs(area) if mirrored else area * np.sign(_signed_area(src_tris))
    shift = 4
    fixed = np.round(corners * (1 << shift)).astype(np.int32)
    maps, ok = _affine_maps(out_tris, src_tris)
    # A triangle whose corners all but keep their place keeps the field's zero displacement there: not drawn.
    still = np.abs(out_tris - src_tris).max(axis=(1, 2)) < STILL_PIXELS
    drawn = np.flatnonzero((area >= MIN_TRIANGLE_AREA) & ok & ~(still & skip_still))
    if len(drawn) == 0:
        return
    for k in drawn:
        cv2.fillConvexPoly(label, fixed[k], int(k), lineType=cv2.LINE_8, shift=shift)
    # As displacement coefficients, one plane each: source - p = x * (row 0 - e_x) + y * (row 1 - e_y) + row 2.
    maps[:, 0, 0] -= 1.0
    maps[:, 1, 1] -= 1.0
    planes = np.concatenate([maps, np.zeros((1, 3, 2))]).astype(np.float32).transpose(1, 0, 2)  # [3, K + 1, 2]
    covered = label != count
    if covered.mean() > 0.5 and blend is None:  # most of the frame: whole planes (uncovered: zero displacement)
        at = [np.take(plane, label, axis=0) for plane in planes]
        painted = grid[..., :1] * at[0] + grid[..., 1:] * at[1] + at[2]
        if covered.all() or not field.any():
            field[...] = painted
        else:
            np.copyto(field, painted, where=covered[..., None])
        return
    ys, xs = np.nonzero(covered)
    index = label[ys, xs]
    p = grid[ys, xs]
    painted = p[:, :1] * planes[0][index] + p[:, 1:] * planes[1][index] + planes[2][index]
    if blend is not None:
        share = np.asarray(blend, np.float32)[index][:, None]
        painted = field[ys, xs] + share * (painted - field[ys, xs])
    field[ys, xs] = painted


def _affine_maps(out_tris: np.ndarray, src_tris: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per triangle the affine [K, 3, 2] taking output corners to source corners (``[x y 1] @ map = source``), by
    the adjugate of the 3x3 corner matrix (no LAPACK call per frame), and whether it exists [K]."""
    x, y = out_tris[..., 0].astype(np.float64), out_tris[..., 1].astype(np.float64)
    s = src_tris.astype(np.float64)
    x0, x1, x2, y0, y1, y2 = x[:, 0], x[:, 1], x[:, 2], y[:, 0], y[:, 1], y[:, 2]
    det = x0 * (y1 - y2) + x1 * (y2 - y0) + x2 * (y0 - y1)
    ok = np.abs(det) > 1e-6
    inv = 1.0 / np.where(ok, det, 1.0)
    rows = [(y1 - y2, y2 - y0, y0 - y1), (x2 - x1, x0 - x2, x1 - x0),
            (x1 * y2 - x2 * y1, x2 * y0 - x0 * y2, x0 * y1 - x1 * y0)]
    maps = np.stack([(a[:, None] * s[:, 0] + b[:, None] * s[:, 1] + c[:, None] * s[:, 2]) * inv[:, None]
                     for a, b, c in rows], axis=1)
    return maps, ok


def _signed_area(tris: np.ndarray) -> np.ndarray:
    """Signed areas [K] of triangles [K, 3, 2]."""
    e = tris[:, 1:] - tris[:, :1]
    return 0.5 * (e[:, 0, 0] * e[:, 1, 1] - e[:, 0, 1] * e[:, 1, 0])


def _anchor_points(rest: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Anchor points (rings around the head, picture border) and how much of the head motion each follows.

    The rings are the face oval scaled about its centre, so they hug long and round faces alike and no
    triangle reaches from the face straight to the still background."""
    points, follow = _anchor_rings(rest)
    edge = np.linspace(0, size - 1, BORDER_POINTS_PER_SIDE + 1, endpoint=False)
    far = np.full_like(edge, size - 1)
    zero = np.zeros_like(edge)
    border = np.concatenate([
        np.stack([edge, zero], 1), np.stack([far, edge], 1),
        np.stack([size - 1 - edge, far], 1), np.stack([zero, size - 1 - edge], 1),
    ])  # fmt: skip
    pts = np.concatenate(points + [border]).astype(np.float32)
    shares = np.concatenate(follow + [np.zeros(len(border))]).astype(np.float32)
    # Ring points far outside the picture add nothing but thin triangles; keep those within a margin.
    margin = 0.5 * size
    keep = np.all((pts > -margin) & (pts < size - 1 + margin), axis=1)
    return pts[keep], shares[keep]


def _barycentric_matrix(points: np.ndarray, queries: np.ndarray) -> scipy.sparse.csr_matrix:
    """Sparse [Q, P] matrix whose row q holds the barycentric weights of ``queries[q]`` in its triangle.

    Queries outside the triangulation take their nearest vertex's displacement (rare: the picture border is
    part of the triangulation)."""
    tri = Delaunay(points)
    simplex = tri.find_simplex(queries)
    inside = simplex >= 0
    rows = np.arange(len(queries))
    transform = tri.transform[simplex[inside]]  # [q, 3, 2]
    delta = queries[inside] - transform[:, 2]
    bary2 = np.einsum("qij,qj->qi", transform[:, :2], delta)
    bary = np.concatenate([bary2, 1 - bary2.sum(axis=1, keepdims=True)], axis=1)
    cols = tri.simplices[simplex[inside]]
    outside = ~inside
    nearest = np.argmin(((queries[outside, None, :] - points[None]) ** 2).sum(-1), axis=1) if outside.any() else []
    data = np.concatenate([bary.ravel(), np.ones(int(outside.sum()))])
    r = np.concatenate([np.repeat(rows[inside], 3), rows[outside]])
    c = np.concatenate([cols.ravel(), np.asarray(nearest, dtype=np.int64)])
    return scipy.sparse.csr_matrix((data.astype(np.float32), (r, c)), shape=(len(queries), len(points)))
