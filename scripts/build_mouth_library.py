"""Build the renderer's mouth library (``core/facecast/models/mouths/library.npz``) from real talking videos.

    .venv/bin/python scripts/build_mouth_library.py [--size 320]

``FACECAST_SHARED_DATA`` points at the shared data when it is not ``../shared/data``.

Tracks every frame of the source clips in ``SOURCES`` (all from ``../shared/data/train``; none from the test set
``../shared/data/video`` and none of the clips ``benchmarks/bench_portrait_fidelity.py`` holds out), keeps
frontal, well-resolved, open mouths, clusters their shape descriptors (k-means) and keeps, per cluster, of the
frames nearest its centre the one with the most contrast: its interior in lip coordinates, its descriptor and
its lip colour. Deterministic.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import cv2
import numpy as np

from facecast.face import topology as T
from facecast.face.capture import FaceTracker
from facecast.render.mouth_library import (
    DESCRIPTOR_WEIGHTS,
    LIBRARY_PATH,
    LipFrame,
    MouthLibrary,
    cut_interior,
    descriptor,
    lip_colour,
    save_library,
)
from facecast.render.video import read_frames

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACECAST_SHARED_DATA", ROOT.parent / "shared" / "data"))
SOURCES = [
    "misc/latentsync_demo1.mp4", "misc/latentsync_demo2.mp4", "misc/latentsync_demo3.mp4",
    "misc/eamm_mead_M030_sad_3_001.mp4", "styletalk/feifeili_clip1.mp4", "styletalk/KristiNoem.mp4",
    "styletalk/reagan_clip1.mp4", "voxceleb2_pcavs/Input_00002.mp4", "voxceleb2_pcavs/Input_00010.mp4",
] + [f"grid_s1/{name}" for name in ("bbaf2n.mp4", "bbaf3s.mp4", "bbaf4p.mp4", "bbaf5a.mp4", "bbal6n.mp4")]
MIN_HALF_WIDTH = 10.0  # pixels: smaller mouths hold too little detail to be upscaled into a portrait
MAX_TURN = 0.06  # nose-tip offset from the eyes' midpoint, in eye distances: frontal faces only
MIN_GAP = 0.08  # descriptor's middle gap (inner half-widths): the mouth must be open
MAX_FRAMES_PER_SOURCE = 900
CHOICES = 6  # members per cluster the exemplar is chosen from


def candidates(path: Path) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    tracker = FaceTracker()
    shapes, interiors, lips = [], [], []
    for frame in read_frames(path, MAX_FRAMES_PER_SOURCE):
        points = tracker(frame)
        if points is None:
            continue
        eyes = points[T.LEFT_EYE_OUTER, :2] - points[T.RIGHT_EYE_OUTER, :2]
        mid = (points[T.LEFT_EYE_OUTER, :2] + points[T.RIGHT_EYE_OUTER, :2]) / 2
        turn = abs(float((points[T.NOSE_TIP, :2] - mid) @ eyes)) / float(eyes @ eyes)
        shape = descriptor(points)
        if turn > MAX_TURN or LipFrame.of(points).half < MIN_HALF_WIDTH or shape[2] < MIN_GAP:
            continue
        shapes.append(shape)
        interiors.append(cut_interior(frame, points))
        lips.append(lip_colour(frame, points))
    return shapes, interiors, lips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=320, help="number of exemplars kept")
    parser.add_argument("--out", type=Path, default=LIBRARY_PATH)
    args = parser.parse_args()
    shapes, interiors, lips, names = [], [], [], []
    for source in SOURCES:
        s, i, c = candidates(DATA / "train" / source)
        print(f"{source}: {len(s)} open frontal mouths")
        shapes += s
        interiors += i
        lips += c
        names += [source] * len(s)
    if len(shapes) < args.size:
        raise SystemExit(f"only {len(shapes)} candidate mouths; need {args.size}")
    features = np.stack(shapes) * DESCRIPTOR_WEIGHTS
    cv2.setRNGSeed(0)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 100, 1e-4)
    _, labels, centres = cv2.kmeans(features.astype(np.float32), args.size, None, criteria, 3, cv2.KMEANS_PP_CENTERS)
    # Per cluster, of the few members nearest its centre, the one with the most contrast (teeth against the
    # dark of the mouth, rather than a blurred or lip-filled interior).
    contrast = np.array([cv2.cvtColor(i, cv2.COLOR_RGB2GRAY).std() for i in interiors])
    keep = []
    for k in range(args.size):
        members = np.flatnonzero(labels[:, 0] == k)
        if len(members):
            nearest = members[np.argsort(((features[members] - centres[k]) ** 2).sum(1))[:CHOICES]]
            keep.append(int(nearest[np.argmax(contrast[nearest])]))
    keep = sorted(set(keep))
    library = MouthLibrary(np.stack([interiors[i] for i in keep]), np.stack([shapes[i] for i in keep]),
                           np.stack([lips[i] for i in keep]))
    save_library(args.out, library, [names[i] for i in keep])
    used = {names[i] for i in keep}
    print(f"{len(keep)} exemplars from {len(used)} clips -> {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
