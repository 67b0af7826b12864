"""Watermark detection statistics: z-scores of marked renders after H.264 and JPEG, and of unmarked material.

    .venv/bin/python benchmarks/bench_watermark.py [--frames 30]

Marked: every portrait in assets/ and ../shared/data/portraits rendered speaking (512x512) and encoded with
libx264 at its default quality (crf 23), scored over the whole clip and over its first frame alone; one frame of
each as JPEG at quality 90 (the texture stream's default) and 60. Unmarked: the shared videos (first 150
frames), the portraits themselves, and their unmarked renders' crops. The threshold is DETECTION_THRESHOLD.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import numpy as np

from facecast.errors import InvalidInput
from facecast.face import Avatar, load_image
from facecast.motion import CHANNEL_INDEX, NUM_CHANNELS, MotionClip
from facecast.render import Renderer, verify_file, write_video
from facecast.render.watermark import DETECTION_THRESHOLD, detect

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


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
            marked_first.append(verify_file(video, max_frames=1).score)
            frame = cv2.cvtColor(renderer.render(speaking(8).values[5]), cv2.COLOR_RGB2BGR)
            jpeg90.append(jpeg_score(frame, 90))
            jpeg60.append(jpeg_score(frame, 60))
            plain_crop.append(detect([renderer.base]).score)
    videos = [verify_file(p, max_frames=150).score for p in sorted((SHARED / "video").glob("*.mp4"))]
    print(f"threshold: {DETECTION_THRESHOLD}")
    summary("marked, H.264 crf 23, whole clip", marked_clip)
    summary("marked, H.264 crf 23, first frame only", marked_first)
    summary("marked, one frame as JPEG q90", jpeg90)
    summary("marked, one frame as JPEG q60", jpeg60)
    summary("unmarked shared videos (150 frames)", videos)
    summary("unmarked portraits (source images)", plain_image)
    summary("unmarked render crops (mark left out)", plain_crop)
    unmarked = np.abs(videos + plain_image + plain_crop)
    marked = marked_first + jpeg90
    print(f"margin: weakest marked {min(marked):.1f} vs strongest unmarked |z| {unmarked.max():.1f}")


if __name__ == "__main__":
    main()
