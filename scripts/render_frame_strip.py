"""Draw the renderer's pictures for the docs: six frames mid-sentence of the two shipped public-domain drawings
speaking a shipped clip (frame_strip.png), and one pose per renderer feature (render_features.png).

    .venv/bin/python scripts/render_frame_strip.py [--out docs/img] [--animator energy]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from facecast.animators import get_animator
from facecast.audio import load_audio
from facecast.controls import Controls
from facecast.face import Avatar, load_image
from facecast.fileio import atomic_path
from facecast.motion import CHANNEL_INDEX, NUM_CHANNELS
from facecast.render import Renderer

ROOT = Path(__file__).resolve().parents[1]
FRAMES, TILE = 6, 200
PORTRAITS = ("drawing.jpg", "drawing_man.jpg")  # public domain (assets/SOURCES.md); no real person's likeness
FEATURES = (  # (label, channel values)
    ("rest", {}),
    ("JawOpen 0.6", {"JawOpen": 0.6}),
    ("smile, jaw 0.3", {"JawOpen": 0.3, "MouthSmileLeft": 0.7, "MouthSmileRight": 0.7}),
    ("blink", {"EyeBlinkLeft": 1.0, "EyeBlinkRight": 1.0}),
    ("gaze right", {"LeftEyeYaw": 0.4, "RightEyeYaw": 0.4}),
    ("gaze left, down", {"LeftEyeYaw": -0.4, "RightEyeYaw": -0.4, "LeftEyePitch": 0.2, "RightEyePitch": 0.2}),
    ("head yaw, roll", {"HeadYaw": 0.15, "HeadRoll": 0.1}),
)


def strip(renderer: Renderer, rows: np.ndarray, labels: list[str] | None = None) -> np.ndarray:
    """One row of tiles for the motion ``rows`` [N, 61], labelled when ``labels`` are given."""
    tiles = []
    for i, values in enumerate(rows):
        tile = cv2.resize(renderer.render(values), (TILE, TILE), interpolation=cv2.INTER_AREA)
        if labels:
            cv2.rectangle(tile, (0, 0), (TILE, 22), (0, 0, 0), -1)
            cv2.putText(tile, labels[i], (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(tile)
    return np.concatenate(tiles, axis=1)


def write_png(path: Path, rgb: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        cv2.imwrite(tmp, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "img"))
    parser.add_argument("--animator", default=None)
    args = parser.parse_args()
    audio = load_audio(ROOT / "assets" / "speech_en.wav")
    clip = get_animator(args.animator).animate(audio, Controls(seed=3).validated(), 30)
    # Mid-sentence: every third frame from 40 % of the way in, so consecutive mouth shapes are visible.
    start = int(0.4 * clip.num_frames)
    picks = np.arange(start, start + 3 * FRAMES, 3)
    poses = np.zeros((len(FEATURES), NUM_CHANNELS), np.float32)
    for row, (_, channels) in zip(poses, FEATURES, strict=True):
        for name, value in channels.items():
            row[CHANNEL_INDEX[name]] = value
    renderers = [Renderer(Avatar.from_image(load_image(ROOT / "assets" / name)), 512) for name in PORTRAITS]
    out = Path(args.out)
    write_png(out / "frame_strip.png", np.concatenate([strip(r, clip.values[picks]) for r in renderers]))
    labels = [label for label, _ in FEATURES]
    write_png(out / "render_features.png", np.concatenate([strip(r, poses, labels) for r in renderers]))
    times = ", ".join(f"{i / clip.fps:.2f}" for i in picks)
    print(f"wrote {out}/frame_strip.png (frames at {times} s) and {out}/render_features.png")


if __name__ == "__main__":
    main()
