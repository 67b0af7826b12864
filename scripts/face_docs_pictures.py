"""Draw the face documentation pictures: every ARKit blendshape of the rig on a real portrait, and the curves
that capture measures on a real talking video.

    .venv/bin/python scripts/face_docs_pictures.py blendshapes assets/mona_lisa.jpg docs/img/blendshapes.png
    .venv/bin/python scripts/face_docs_pictures.py capture ../shared/data/video/retalking_face_1.mp4 \
        docs/img/capture_retalking_face_1.png
"""

from __future__ import annotations

import sys

import cv2
import numpy as np

from facecast.face import Rig, fit_face, load_image
from facecast.face import topology as T
from facecast.fileio import atomic_path
from facecast.motion import BLENDSHAPES, CHANNEL_INDEX, NUM_CHANNELS

TILE = 180
CONTOURS = (T.LIPS_OUTER_UPPER, T.LIPS_OUTER_LOWER, T.LIPS_INNER_UPPER, T.LIPS_INNER_LOWER, T.LEFT_EYE_UPPER,
            T.LEFT_EYE_LOWER, T.RIGHT_EYE_UPPER, T.RIGHT_EYE_LOWER, T.LEFT_BROW[:5], T.LEFT_BROW[5:],
            T.RIGHT_BROW[:5], T.RIGHT_BROW[5:], T.FACE_OVAL + (T.FACE_OVAL[0],))


def draw_tile(image: np.ndarray, rest: np.ndarray, moved: np.ndarray, title: str) -> np.ndarray:
    """The face cropped to a square tile: rest contours grey; moved contours, and the points that moved, red."""
    lo, hi = rest[:, :2].min(0), rest[:, :2].max(0)
    centre, side = (lo + hi) / 2, float(max(hi - lo)) * 1.25
    scale = TILE / side
    matrix = np.array([[scale, 0, TILE / 2 - centre[0] * scale], [0, scale, TILE / 2 - centre[1] * scale]])
    tile = cv2.warpAffine(image, matrix, (TILE, TILE), flags=cv2.INTER_AREA, borderValue=(255, 255, 255))
    tile = (cv2.cvtColor(cv2.cvtColor(tile, cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB) * 0.5 + 120).astype(np.uint8)

    def to_tile(points: np.ndarray) -> np.ndarray:
        return np.round((points[:, :2] * scale + matrix[:, 2]) * 4).astype(np.int32)  # 2 bits of subpixel

    for contour in CONTOURS:
        cv2.polylines(tile, [to_tile(rest[list(contour)])], False, (70, 70, 70), 1, cv2.LINE_AA, shift=2)
        cv2.polylines(tile, [to_tile(moved[list(contour)])], False, (220, 30, 30), 1, cv2.LINE_AA, shift=2)
    travelled = np.linalg.norm(moved[:, :2] - rest[:, :2], axis=1) > 0.01 * side
    for x, y in to_tile(moved[travelled]):
        cv2.circle(tile, (int(x), int(y)), 3, (220, 30, 30), -1, cv2.LINE_AA, shift=2)
    cv2.rectangle(tile, (0, 0), (TILE, 18), (255, 255, 255), -1)
    cv2.putText(tile, title, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    return tile


def blendshapes_picture(image_path: str, out_path: str) -> None:
    image = load_image(image_path)
    rest = fit_face(image, source=image_path).landmarks
    rig = Rig()
    poses: list[tuple[str, np.ndarray]] = [("rest", np.zeros(NUM_CHANNELS, np.float32))]
    for name in BLENDSHAPES:
        values = np.zeros(NUM_CHANNELS, np.float32)
        values[CHANNEL_INDEX[name]] = 1.0
        poses.append((name, values))
    for name, angle in (("HeadYaw", 0.35), ("HeadPitch", 0.3), ("HeadRoll", 0.3)):
        values = np.zeros(NUM_CHANNELS, np.float32)
        values[CHANNEL_INDEX[name]] = angle
        poses.append((f"{name} {angle:+.2f} rad", values))
    tiles = [draw_tile(image, rest, rig.deform(rest, values), title) for title, values in poses]
    columns = 8
    while len(tiles) % columns:
        tiles.append(np.full_like(tiles[0], 255))
    rows = [np.hstack(tiles[i:i + columns]) for i in range(0, len(tiles), columns)]
    with atomic_path(out_path) as tmp:
        cv2.imwrite(tmp, cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])


def capture_picture(video_path: str, out_path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from facecast.face.capture import capture_video

    take = capture_video(video_path, progress=False)
    clip = take.clip
    figure, axes = plt.subplots(3, 1, figsize=(10, 6.5), sharex=True)
    axes[0].plot(clip.times, clip.curve("JawOpen"), label="JawOpen (capture)")
    if take.mouth_opening is not None:
        opening = take.mouth_opening / max(float(take.mouth_opening.max()), 1e-6) * float(clip.curve("JawOpen").max())
        axes[0].plot(clip.times, opening, alpha=0.6, label="inner-lip gap (scaled)")
    axes[1].plot(clip.times, clip.curve("EyeBlinkLeft"), label="EyeBlinkLeft")
    axes[1].plot(clip.times, clip.curve("EyeBlinkRight"), label="EyeBlinkRight")
    axes[2].plot(clip.times, np.degrees(clip.curve("HeadYaw")), label="HeadYaw (deg)")
    axes[2].plot(clip.times, np.degrees(clip.curve("HeadPitch")), label="HeadPitch (deg)")
    axes[2].plot(clip.times, np.degrees(clip.curve("HeadRoll")), label="HeadRoll (deg)")
    for axis in axes:
        axis.legend(loc="upper right", fontsize=8)
        axis.grid(alpha=0.3)
    axes[2].set_xlabel("seconds")
    figure.suptitle(f"facecast capture of {video_path.rsplit('/', 1)[-1]} ({clip.fps} fps)")
    figure.tight_layout()
    with atomic_path(out_path) as tmp:
        figure.savefig(tmp, dpi=90, format="png")


if __name__ == "__main__":
    kind, source, target = sys.argv[1:4]
    {"blendshapes": blendshapes_picture, "capture": capture_picture}[kind](source, target)
