"""Watermark detection statistics: z-scores of marked renders after H.264 and JPEG, and of unmarked material.

    .venv/bin/python benchmarks/bench_watermark.py [--frames 30]

Marked: every portrait in assets/ and ../shared/data/portraits rendered speaking (512x512) and encoded with
libx264 at its default quality (crf 23), scored over the whole clip and over its first frame alone; one frame of
each as JPEG at quality 90 (the texture stream's default) and 60; and each video decoded, changed and encoded
again with libx264 crf 23: downscaled to 256x256, cropped by 10% (460x460 window), cropped and resized back to
512, cropped and downscaled. Unmarked: the shared test videos and train/misc clips (first 150 frames; also
downscaled to 256), the portraits themselves, and their unmarked renders' crops. The threshold is
DETECTION_THRESHOLD. ``FACECAST_SHARED_DATA`` points at the shared data when it is not ``../shared/data``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from facecast.errors import InvalidInput
from facecast.face import Avatar, load_image
from facecast.media import H264Writer
from facecast.motion import CHANNEL_INDEX, NUM_CHANNELS, MotionClip
from facecast.render import Renderer, verify_file, write_video
from facecast.render.video import read_frames
from facecast.render.watermark import DETECTION_THRESHOLD, detect

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("FACECAST_SHARED_DATA", ROOT.parent / "shared" / "data"))
CHANGES = {
    "downscale 256": lambda f: cv2.resize(f, (256, 256), interpolation=cv2.INTER_AREA),
    "crop 10%": lambda f: f[26:26 + 460, 20:20 + 460],
    "crop 10% + resize to 512": lambda f: cv2.resize(f[51:, 51:], (512, 512)),
    "crop 10% + downscale 256": lambda f: cv2.resize(f[26:26 + 460, 20:20 + 460], (256, 256),
                                                     interpolation=cv2.INTER_AREA),
}


def reencode(source: Path, out: Path, change: Callable[[np.ndarray], np.ndarray],
             max_frames: int | None = None) -> Path:
    """``source`` decoded, every frame changed, encoded again with libx264 at crf 23."""
    with H264Writer(out, 30) as video:
        for frame in read_frames(source, max_frames):
            video.add(change(frame))
    return out


def speaking(frames: int) -> MotionClip:
    t = np.arange(frames) / 30
    values = np.zeros((frames, NUM_CHANNELS), np.float32)
    values[:, CHANNEL_INDEX["JawOpen"]] = 0.3 * (1 - np.cos(2 * np.pi * 2 * t))
    values[:, CHANNEL_INDEX["HeadYaw"]] = 0.04 * np.sin(2 * np.pi * 0.5 * t)
    return MotionClip(30, values)


def jpeg_score(frame: np.ndarray, quality: int) -> float:
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    return detect([cv2.imdecode(data, cv2.IMREAD_COLOR)]).score  # BGR order: luma is what counts


def summary(name: str, scores: list[float]) -> None:
    if scores:
        print(f"{name}: n={len(scores)} min={min(scores):.1f} median={np.median(scores):.1f} max={max(scores):.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=30)
    args = parser.parse_args()
    portraits = sorted((ROOT / "assets").glob("*.jpg")) + sorted((SHARED / "portraits").glob("*.jpg"))
    marked_clip, marked_first, jpeg90, jpeg60, plain_crop, plain_image = [], [], [], [], [], []
    changed_scores: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for path in portraits:
            plain_image.append(verify_file(path).score)
            try:
                renderer = Renderer(Avatar.from_image(load_image(path)), 512)
            except InvalidInput as e:
                print(f"skipped {path.name}: {e}")
                continue
            video = Path(folder) / f"{path.stem}.mp4"
            write_video(video, speaking(args.frames), renderer)
            marked_clip.append(verify_file(video).score)
            for name, change in CHANGES.items():
                changed_scores.setdefault(name, []).append(
                    verify_file(reencode(video, Path(folder) / "changed.mp4", change)).score)
            marked_first.append(verify_file(video, max_frames=1).score)
            frame = cv2.cvtColor(renderer.render(speaking(8).values[5]), cv2.COLOR_RGB2BGR)
            jpeg90.append(jpeg_score(frame, 90))
            jpeg60.append(jpeg_score(frame, 60))
            plain_crop.append(detect([renderer.base]).score)
        real = sorted((SHARED / "video").glob("*.mp4")) + sorted((SHARED / "train" / "misc").glob("*.mp4"))
        videos = [verify_file(p, max_frames=150).score for p in real]
        small = [verify_file(reencode(p, Path(folder) / "small.mp4", CHANGES["downscale 256"], 150)).score
                 for p in real]
    print(f"threshold: {DETECTION_THRESHOLD}")
    summary("marked, H.264 crf 23, whole clip", marked_clip)
    summary("marked, H.264 crf 23, first frame only", marked_first)
    summary("marked, one frame as JPEG q90", jpeg90)
    summary("marked, one frame as JPEG q60", jpeg60)
    for name, scores in changed_scores.items():
        summary(f"marked, re-encoded crf 23 after {name}", scores)
    summary("unmarked shared videos (150 frames)", videos)
    summary("unmarked shared videos downscaled to 256 and re-encoded", small)
    summary("unmarked portraits (source images)", plain_image)
    summary("unmarked render crops (mark left out)", plain_crop)
    unmarked = np.abs(videos + small + plain_image + plain_crop)
    marked = marked_first + jpeg90 + [s for scores in changed_scores.values() for s in scores]
    print(f"margin: weakest marked {min(marked):.1f} vs strongest unmarked |z| {unmarked.max():.1f}")


if __name__ == "__main__":
    main()
