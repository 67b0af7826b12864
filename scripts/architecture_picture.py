"""Draw docs/img/architecture.png: facecast's data path, each box labelled with the package that owns it.

    .venv/bin/python scripts/architecture_picture.py
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

OUT = Path(__file__).resolve().parents[1] / "docs" / "img" / "architecture.png"

# layer colours, lowest layer lightest (see the import rules in docs/ARCHITECTURE.md)
INPUT, CONTRACT, ANIMATE, OUTPUT, SERVICE, APP = "#f2f2f2", "#dbe9f6", "#cfe8d5", "#fbe3c5", "#f3d3d3", "#e3d7f0"

# name: (x, y, width, height, title, package, colour)
BOXES: dict[str, tuple[float, float, float, float, str, str, str]] = {
    "video": (0.2, 7.4, 2.6, 0.9, "real talking video", "", INPUT),
    "capture": (3.4, 7.25, 2.6, 1.2, "capture\nlandmarks -> rig solve", "face/capture.py", OUTPUT),
    "audio": (0.2, 6.0, 2.6, 0.9, "speech audio\nfile or live chunks", "audio.py", INPUT),
    "controls": (0.2, 4.7, 2.6, 0.9, "controls: emotion,\ngaze, head, seed", "controls.py", INPUT),
    "animator": (3.4, 5.35, 2.6, 1.3, "animator\nenergy | phonetic | neural", "animators/ (+ phonemes/)", ANIMATE),
    "motion": (6.8, 5.35, 2.6, 1.3, "MotionClip /\nMotionFrame stream", "motion.py (the contract)", CONTRACT),
    "portrait": (0.2, 3.45, 2.6, 0.9, "portrait image", "face/image.py", INPUT),
    "face": (3.4, 3.3, 2.6, 1.2, "face fitting\nmesh, portrait rig", "face/", OUTPUT),
    "avatar": (6.8, 3.3, 2.6, 1.2, "Avatar\nimage + fitted mesh", "face/avatar.py", OUTPUT),
    "exports": (10.3, 7.0, 3.0, 1.1, "exports\nCSV JSON .fcclip glTF USD FBX", "exports/ + character/", OUTPUT),
    "daemon": (10.3, 5.45, 3.0, 1.1, "gRPC daemon\nsessions, batching, limits", "server/ (+ wire.py)", SERVICE),
    "render": (10.3, 3.35, 3.0, 1.1, "renderer\nwarped portrait frames", "render/", OUTPUT),
    "mp4": (10.3, 1.7, 3.0, 1.1, "mp4 video,\ntexture frames", "media.py", OUTPUT),
    "blender": (14.1, 7.0, 2.5, 1.1, "Blender add-on", "plugins/blender", APP),
    "client": (14.1, 5.45, 2.5, 1.1, "Python client", "client.py", SERVICE),
    "unreal": (14.1, 3.9, 2.5, 1.1, "Unreal bridge\nLive Link, takes", "unreal/", APP),
}
ARROWS = [
    ("audio", "animator"), ("controls", "animator"), ("animator", "motion"), ("video", "capture"),
    ("capture", "motion"), ("motion", "exports"), ("motion", "daemon"), ("motion", "render"),
    ("portrait", "face"), ("face", "avatar"), ("avatar", "render"), ("render", "mp4"),
    ("daemon", "client"), ("client", "blender"), ("client", "unreal"),
]


def _anchor(name: str, towards: str) -> tuple[float, float]:
    x, y, w, h = BOXES[name][:4]
    tx, ty, tw, th = BOXES[towards][:4]
    cx, cy, ox, oy = x + w / 2, y + h / 2, tx + tw / 2, ty + th / 2
    if abs(ox - cx) * h > abs(oy - cy) * w:  # leave through the left or right side
        return (x + w if ox > cx else x, cy)
    return (cx, y + h if oy > cy else y)


def main() -> None:
    fig, ax = plt.subplots(figsize=(16.8, 9.0), dpi=110)
    ax.set_xlim(0, 16.8)
    ax.set_ylim(0, 9.0)
    ax.axis("off")
    for x, y, w, h, title, package, colour in BOXES.values():
        ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.12", fc=colour,
                                    ec="#555555", lw=1.2))
        ax.text(x + w / 2, y + h / 2 + (0.12 if package else 0), title, ha="center", va="center", fontsize=10.5)
        if package:
            ax.text(x + w / 2, y + 0.13, package, ha="center", va="bottom", fontsize=8.5, family="monospace",
                    color="#333366")
    for start, end in ARROWS:
        ax.add_patch(FancyArrowPatch(_anchor(start, end), _anchor(end, start), arrowstyle="-|>", mutation_scale=16,
                                     lw=1.4, color="#444444", shrinkA=2, shrinkB=2,
                                     connectionstyle="arc3,rad=0.0"))
    legend = [(INPUT, "inputs"), (CONTRACT, "contract"), (ANIMATE, "animators"), (OUTPUT, "character / exports / "
              "face / render"), (SERVICE, "server / client"), (APP, "unreal / batch / cli / plugins")]
    for i, (colour, label) in enumerate(legend):
        ax.add_patch(FancyBboxPatch((0.3, 2.4 - i * 0.36), 0.3, 0.22, boxstyle="square,pad=0", fc=colour,
                                    ec="#555555", lw=0.8))
        ax.text(0.75, 2.51 - i * 0.36, label, va="center", fontsize=9.5)
    ax.text(0.2, 8.75, "facecast: data flows one way, left to right (colours: layers, lowest first)", fontsize=14,
            weight="bold", va="center")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, bbox_inches="tight", facecolor="white")
    print(OUT)


if __name__ == "__main__":
    main()
