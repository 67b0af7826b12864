"""The frame strips in docs/PORTRAIT.md: poses on the shipped painting and the two shipped drawings (today's renderer
beside the first one), and self-reenactment rows (real frames | first renderer | today's).

    .venv/bin/python scripts/portrait_strip.py [--out docs/img] [--only poses|reenactment]

``FACECAST_SHARED_DATA`` points at the shared data when it is not ``../shared/data``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from facecast.face import Avatar, load_image
from facecast.face.capture import capture_video
from facecast.motion import CHANNEL_INDEX, NUM_CHANNELS
from facecast.render import Renderer
from facecast.render.regions import FACE_OVAL
from facecast.render.video import read_frames

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACECAST_SHARED_DATA", ROOT.parent / "shared" / "data"))
# public domain (assets/SOURCES.md); no living person's likeness
PORTRAITS = {"painting": ROOT / "assets" / "mona_lisa.jpg", "drawing": ROOT / "assets" / "drawing.jpg",
             "drawing 2": ROOT / "assets" / "drawing_man.jpg"}
POSES = {
    "closed": {},
    "open": {"JawOpen": 0.55},
    "wide open": {"JawOpen": 0.8},
    "blink": {"EyeBlinkLeft": 1.0, "EyeBlinkRight": 1.0},
    "smile": {"MouthSmileLeft": 0.8, "MouthSmileRight": 0.8, "CheekSquintLeft": 0.5, "CheekSquintRight": 0.5,
              "JawOpen": 0.15},
    "yaw +15 deg": {"HeadYaw": 0.26, "JawOpen": 0.3},
    "yaw -15 deg": {"HeadYaw": -0.26, "JawOpen": 0.3},
    "pitch +10 deg": {"HeadPitch": 0.17, "JawOpen": 0.2},
    "pitch -10 deg": {"HeadPitch": -0.17, "JawOpen": 0.2},
}
VIDEOS = ["video/retalking_face_1.mp4", "video/liveportrait_d12.mp4", "train/styletalk/andrew_clip_1.mp4"]
TILE = 200
# "before": the renderer of before the surface head, the smile shading, the lip-corner taper and head translation
# (issue 16, item 3)
STYLES: dict[str, dict[str, Any]] = {
    "before": {"head": "flat", "cheeks": "plain", "lips": "rig", "translate": False}, "today": {}}


def label(image: np.ndarray, text: str) -> np.ndarray:
    out = image.copy()
    cv2.putText(out, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def face_window(renderer: Renderer) -> tuple[int, int, int, int]:
    oval = renderer.rest[FACE_OVAL, :2]
    centre, half = oval.mean(0), 0.62 * float((oval.max(0) - oval.min(0)).max())
    x0, y0 = np.clip(np.round(centre - half).astype(int), 0, renderer.size)
    x1, y1 = np.clip(np.round(centre + half).astype(int), 0, renderer.size)
    return int(x0), int(y0), int(x1), int(y1)


def tile(frame: np.ndarray, window: tuple[int, int, int, int]) -> np.ndarray:
    x0, y0, x1, y1 = window
    return cv2.resize(frame[y0:y1, x0:x1], (TILE, TILE), interpolation=cv2.INTER_AREA)


def pose_strip() -> np.ndarray:
    rows = []
    for kind, path in PORTRAITS.items():
        avatar = Avatar.from_image(load_image(path))
        for style, options in STYLES.items():
            renderer = Renderer(avatar, 512, **options)
            window = face_window(renderer)
            tiles = []
            for name, channels in POSES.items():
                values = np.zeros(NUM_CHANNELS, np.float32)
                for channel, value in channels.items():
                    values[CHANNEL_INDEX[channel]] = value
                tiles.append(label(tile(renderer.render(values), window), f"{kind}, {name}" if style == "today"
                                   else f"{name} (before)"))
            rows.append(np.concatenate(tiles, 1))
    return np.concatenate(rows, 0)


def reenactment_strip(times: tuple[float, ...] = (0.8, 1.6, 2.4, 3.2, 4.0)) -> np.ndarray:
    rows = []
    for name in VIDEOS:
        path = DATA / name
        cap = capture_video(path, progress=False)
        real = list(read_frames(path))
        avatar = Avatar.from_image(real[0])
        frames = [int(round(t * cap.clip.fps)) for t in times]
        index = [int(np.argmin(np.abs(cap.frame_times - t))) for t in times]
        values = cap.clip.values[frames] - cap.clip.values[:1]
        translation = cap.clip.head_translation[frames] - cap.clip.head_translation[:1]
        for style, options in {"real": None, **STYLES}.items():
            renderer = Renderer(avatar, 512, **(options or {}))
            window = face_window(renderer)
            shown = [renderer.crop.image(real[j]) for j in index] if options is None else [
                renderer.render(v, t) for v, t in zip(values, translation, strict=True)]
            tiles = [label(tile(f, window), f"{path.stem[:16]} {style}" if k == 0 else f"t={t:.1f}s")
                     for k, (f, t) in enumerate(zip(shown, times, strict=True))]
            rows.append(np.concatenate(tiles, 1))
    return np.concatenate(rows, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--only", choices=("poses", "reenactment"), help="make one of the two strips")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    strips = {"poses": ("portrait_poses.jpg", pose_strip),
              "reenactment": ("portrait_reenactment.jpg", reenactment_strip)}
    for key, (name, make) in strips.items():
        if args.only not in (None, key):
            continue
        image = make()
        cv2.imwrite(str(args.out / name), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])
        print(args.out / name)


if __name__ == "__main__":
    main()
