"""The head as a surface: a coarse 3-D proxy of the portrait's head that the warp turns, and the fill for what
a turn uncovers.

The face mesh already has depth (mediapipe's z, as the rig uses it): the rig turns its points about a pivot at
the top of the neck, so the far cheek compresses, the near cheek widens and the nose slides across. What lies
outside the mesh (the warp's anchor rings in the hair and at the head's outline) gets a depth too: each lies
:data:`RECEDE` behind the face-oval point nearest to it, but never behind the head's outline
(:data:`OUTLINE_DEPTH` in front of the pivot), and turns about the same pivot. A head is round about its neck, so
its outline beside the cheeks barely moves while the face slides inside it, and the hair above the forehead
shears between the moving hairline and the still crown.

On the side a turn brings towards the camera, the mesh's face oval moves inwards away from the head's outline and
the band between them widens: beside the cheeks and temples (where the oval lies near the head's outline, deep
in the face) that band is the side of the face coming into view. A 2-D warp
would stretch the few pixels that were there (a smeared cheek edge); :meth:`HeadSurface.band` fills it from the
portrait's own skin instead: the outer part of the band shows the original cheek edge and hair at their own scale
(so the outline stays where it was), and the new strip inside it shows the cheek skin just inside the oval,
mirrored out and back (a triangle wave), so the picture is continuous at both edges and nowhere magnified.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import Delaunay

from facecast.face.portrait_rig import HEAD_PIVOT, face_frame, rotation, smoothstep
from facecast.render.regions import FACE_OVAL

OUTLINE_DEPTH = 0.2  # face units in front of the pivot: the head's outline (the oval's sides lie at about 0.45)
RECEDE = 0.25  # face units an anchor lies behind the face-oval point nearest to it (never behind the outline)
MIN_WIDENING = 0.5  # output pixels: a band that widens less than this is left to the warp
GAP_RAMP = (2.0, 8.0)  # output pixels of widening over which the mirrored gap fill fades in; below, the band
# stretches as the 2-D warp does (a gap a few pixels wide, mirrored, is a thin copy of whatever edge lies at the
# ring: a ghost line beside the jaw or cheek, not a surface coming into view)
GRAZING_DEPTH = (-0.3, -0.5)  # face-oval depths (face units) from which on the oval's outer strip is grazing
OVER_RAMP = 6.0  # output pixels of widening over which the band comes to lie over the mesh's outer strip
BAND_RING = 1.2  # the anchor ring (multiple of the face-oval radius) that the band reaches out to
BAND_INNER = 0.9  # and the contour inside the oval it starts from: the oval's outer strip, seen at a grazing
# angle in a frontal portrait, would be magnified severalfold as a turn brings it towards the camera
EDGE_TRIANGLES = 2 * len(FACE_OVAL)
MAX_MIRROR = 1.5  # the mirrored strip is at most this many rest band widths wide
# The ring lies at least this much (share of the oval's radius there) beyond every face landmark in its direction:
# in a three-quarter view the hidden cheek's fitted oval lies inside the cheek points nearer the camera, and a ring
# through the face would carry part of it with the head's outline while the rest turns with the face (a drawn
# outline split in two, a white gap between).
RING_CLEARANCE = 0.1


def ring_scales(rest: np.ndarray) -> np.ndarray:
    """Per face-oval point [36], the head outline ring's distance from the oval's centre as a multiple of the
    oval's: :data:`BAND_RING`, or further out where face landmarks (``rest`` [468, 2+]) lie beyond
    ``BAND_RING - RING_CLEARANCE`` times the oval in that direction (each counted at its own and both
    neighbouring contour points)."""
    points = np.asarray(rest, np.float64)[:, :2]
    oval = points[FACE_OVAL]
    centre = oval.mean(axis=0)
    oval_angle = np.arctan2(*(oval - centre).T[::-1])
    oval_radius = np.linalg.norm(oval - centre, axis=1)
    angle = np.arctan2(*(points - centre).T[::-1])
    order = np.argsort(oval_angle)
    reach = np.linalg.norm(points - centre, axis=1) / np.maximum(
        np.interp(angle, oval_angle[order], oval_radius[order], period=2 * np.pi), 1e-6)
    nearest = np.argmin(np.abs(np.angle(np.exp(1j * (angle[:, None] - oval_angle[None])))), axis=1)
    need = np.zeros(len(FACE_OVAL))
    np.maximum.at(need, nearest, reach + RING_CLEARANCE)
    need = np.maximum(need, np.maximum(np.roll(need, 1), np.roll(need, -1)))
    return np.maximum(need, BAND_RING)


class HeadSurface:
    """Depth and turning for the warp's anchor points, and the disocclusion band, for one rest face.

    ``rest``: landmarks [468, 3] in output pixels (z towards the camera, same scale as x); ``anchors`` [A, 2]:
    the warp's anchor points; ``follow`` [A]: the share of the head's motion each follows; ``ring_follow`` [36]:
    the same for the ring at :func:`ring_scales` times the face oval (one point per oval point)."""

    def __init__(self, rest: np.ndarray, anchors: np.ndarray, follow: np.ndarray, ring_follow: np.ndarray) -> None:
        rest = np.asarray(rest, np.float64)
        self.frame = face_frame(rest)
        self.follow = np.asarray(follow, np.float32)
        oval = rest[FACE_OVAL, :2]
        self._oval_depth = self.frame.to_face(rest[FACE_OVAL])[:, 2]
        self.oval = oval
        self._anchors = self._lift(np.asarray(anchors, np.float64))
        centre = oval.mean(axis=0)
        self.ring = centre + (oval - centre) * ring_scales(rest)[:, None]
        self._ring = self._lift(self.ring)
        self._ring_follow = np.asarray(ring_follow, np.float64)
        self.inner = centre + (oval - centre) * BAND_INNER
        # The inner contour moves with the mesh: its points' barycentric weights in the rest mesh's triangles.
        mesh = Delaunay(rest[:, :2])
        simplex = mesh.find_simplex(self.inner)
        if (simplex < 0).any():  # a contour point outside the mesh (a degenerate fit): the nearest oval point
            simplex = np.where(simplex < 0, mesh.find_simplex(oval * 0.999 + centre * 0.001), simplex)
        transform = mesh.transform[simplex]
        bary = np.einsum("qij,qj->qi", transform[:, :2], self.inner - transform[:, 2])
        self._inner_vertices = mesh.simplices[simplex]
        self._inner_weights = np.concatenate([bary, 1 - bary.sum(axis=1, keepdims=True)], axis=1)
        # Only beside the cheeks and temples does a frontal portrait show the face at a grazing angle (the oval
        # lies deep there); at the jaw, chin and forehead the band never reaches in over the mesh.
        self._grazing = smoothstep((GRAZING_DEPTH[0] - self._oval_depth) / (GRAZING_DEPTH[0] - GRAZING_DEPTH[1]))
        self.width = np.linalg.norm(self.ring - oval, axis=1)
        self.outward = (self.ring - oval) / self.width[:, None]

    def _lift(self, points: np.ndarray) -> np.ndarray:
        """Image points [N, 2] lifted to their proxy depth, in face axes [N, 3]."""
        f = self.frame
        nearest = np.argmin(((points[:, None, :] - self.oval[None]) ** 2).sum(-1), axis=1)
        depth = np.maximum(self._oval_depth[nearest] - RECEDE, HEAD_PIVOT[2] + OUTLINE_DEPTH)
        d = np.zeros((len(points), 3))
        d[:, :2] = points - f.origin[:2]
        w = f.axes[2]
        d[:, 2] = (f.scale * depth - w[0] * d[:, 0] - w[1] * d[:, 1]) / w[2]
        return f.to_face(d + f.origin)

    def _turn(self, face_points: np.ndarray, angles: np.ndarray) -> np.ndarray:
        turn = rotation(*(np.float64(a) for a in angles))
        turned = (face_points - HEAD_PIVOT) @ turn.T + HEAD_PIVOT
        return self.frame.to_image(turned)[:, :2]

    def anchor_motion(self, angles: np.ndarray, shift: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Displacement [A, 2] of every anchor for head angles (yaw, pitch, roll) and the head's ``shift`` across
        the picture [2] (output pixels), scaled by its follow share, and its depth [A] once turned (image z,
        towards the camera: what is drawn over what)."""
        turn = rotation(*(np.float64(a) for a in angles))
        turned = self.frame.to_image((self._anchors - HEAD_PIVOT) @ turn.T + HEAD_PIVOT)
        rest = self.frame.to_image(self._anchors)
        motion = turned[:, :2] - rest[:, :2]
        if shift is not None:
            motion = motion + np.asarray(shift, np.float64)
        return (motion * self.follow[:, None]).astype(np.float32), turned[:, 2].astype(np.float32)

    def ring_moved(self, angles: np.ndarray, shift: np.ndarray | None = None) -> np.ndarray:
        """Where the band's outer ring [36, 2] goes for head angles (yaw, pitch, roll) and ``shift`` [2]."""
        motion = self._turn(self._ring, angles) - self.frame.to_image(self._ring)[:, :2]
        if shift is not None:
            motion = motion + np.asarray(shift, np.float64)
        return self.ring + motion * self._ring_follow[:, None]

    def band(self, moved: np.ndarray, angles: np.ndarray,
             shift: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Triangles covering the band from a contour just inside the moved face oval out to the head outline, a
        regular strip of quads (the warp's Delaunay triangles there are long slivers that kink a cheek edge
        crossing them): output corners [K, 3, 2], the portrait pixels they show [K, 3, 2] (both in output
        pixels), and how far each goes over the mesh [K] (0 to 1: by how much the band widens there, fully from
        :data:`OVER_RAMP` pixels on; the whole band also lies under the mesh).

        Per contour point the band in the output runs from the moved inner point I' out to the moved ring point
        R'; the portrait's band from I to R is W wide. Where the output band is wider than W across, its inner W
        shows I..R at its own scale (the face's edge stays with the face) and the gap beyond it, out to R', shows
        the portrait's pixels just beyond R, mirrored out and back (continuous at both edges, nowhere magnified).
        The first :data:`EDGE_TRIANGLES` triangles are the face's own edge band, the rest the gap."""
        mesh = np.asarray(moved, np.float64)[:, :2]
        oval = mesh[FACE_OVAL]
        outer = self.ring_moved(angles, shift)
        # Widening across the band (along the rest's outward direction); sliding along it is shear, not a gap.
        extra = np.clip(((outer - oval) * self.outward).sum(axis=1) - self.width, 0.0, MAX_MIRROR * self.width)
        extra[extra < MIN_WIDENING] = 0.0
        # As it widens, the band reaches in over the mesh's outer strip (to the inner contour when fully lifted).
        lift = smoothstep(extra / OVER_RAMP) * self._grazing
        reach = lift[:, None]
        inner_moved = (mesh[self._inner_vertices] * self._inner_weights[..., None]).sum(axis=1)
        inner = oval + (inner_moved - oval) * reach
        inner_rest = self.oval + (self.inner - self.oval) * reach
        span = outer - inner
        across = (span * self.outward).sum(axis=1)
        width = ((self.ring - inner_rest) * self.outward).sum(axis=1)
        # Only beside the cheeks and temples is the gap the side of the face coming into view; under the jaw and
        # chin and above the forehead it is neck, hair or background that the head uncovers as it moves over
        # them, and stretching the band there (as the 2-D warp does) matches real frames better than a mirror.
        fill = smoothstep((extra - GAP_RAMP[0]) / (GAP_RAMP[1] - GAP_RAMP[0])) * self._grazing
        share = (np.clip(across - width, 0.0, None) * fill / np.maximum(across, 1e-6))[:, None]
        gap = (share[:, 0] * across)[:, None]
        # Four rows of vertices per contour point: the inner contour, the band's own outer edge, the mirror's
        # turning point, the ring.
        out_rows = [inner, inner + span * (1 - share), inner + span * (1 - share / 2), outer]
        src_rows = [inner_rest, self.ring, self.ring + self.outward * gap / 2, self.ring]
        here = np.arange(len(FACE_OVAL))
        nxt = (here + 1) % len(FACE_OVAL)

        def strip(rows: list[np.ndarray]) -> np.ndarray:
            """Two triangles per quad between consecutive rows and consecutive oval points."""
            tris = []
            for a, b in zip(rows[:-1], rows[1:], strict=True):
                tris += [np.stack([a[here], a[nxt], b[nxt]], axis=1), np.stack([a[here], b[nxt], b[here]], axis=1)]
            return np.concatenate(tris).astype(np.float32)

        over = 0.5 * (lift + np.roll(lift, -1))
        return strip(out_rows), strip(src_rows), np.tile(over, 6)
