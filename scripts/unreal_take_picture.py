"""docs/img/unreal_take.png: what a take folder's .mov holds, from a real `facecast unreal take` run.

    .venv/bin/python scripts/unreal_take_picture.py

Frames of the reference video (the ARKit test head performing the take), the thumbnail, and the timecodes
ffprobe reads from the .mov's QuickTime timecode track beside the CSV's first row and the frame log's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import av
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from daemon import Daemon  # noqa: E402


def main() -> None:
    daemon = Daemon()
    try:
        with tempfile.TemporaryDirectory() as work:
            subprocess.run([sys.executable, "-m", "facecast", "unreal", "take", str(ROOT / "assets" / "speech_en.wav"),
                            "-o", work, "--slate", "Ada", "--fps", "30", "--timecode-start", "14:03:27:00",
                            "--daemon", daemon.address], check=True)
            take, = Path(work).glob("*_Ada_1")
            mov = take / "Ada_1_iPhone.mov"
            probe = json.loads(subprocess.run(
                ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_tag_string,sample_rate:"
                 "stream_tags=timecode", "-of", "json", str(mov)], capture_output=True, text=True, check=True).stdout)
            with av.open(str(mov)) as container:
                frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
            thumbnail = Image.open(take / "thumbnail.jpg")
            csv_row = (take / "Ada_1_iPhone.csv").read_text().splitlines()[1].split(",")[0]
            log_row = (take / "frame_log.csv").read_text().splitlines()[0]
    finally:
        daemon.stop()
    picks = [int(i * (len(frames) - 1) / 4) for i in range(5)]
    fig, axes = plt.subplots(1, 7, figsize=(14, 3.3), gridspec_kw={"width_ratios": [1] * 6 + [1.9]})
    for ax, index in zip(axes[:5], picks, strict=True):
        ax.imshow(frames[index][120:420, 50:310])
        ax.set_title(f"frame {index}", fontsize=9)
        ax.axis("off")
    axes[5].imshow(thumbnail.crop((50, 120, 310, 420)))
    axes[5].set_title("thumbnail.jpg", fontsize=9)
    axes[5].axis("off")
    tmcd = next(s for s in probe["streams"] if s.get("codec_tag_string") == "tmcd")
    audio = next(s for s in probe["streams"] if s["codec_type"] == "audio")
    text = (f"ffprobe Ada_1_iPhone.mov\n  tmcd track: {tmcd['tags']['timecode']}\n"
            f"  audio: {audio['codec_tag_string']} {int(audio['sample_rate']) // 1000} kHz\n\n"
            f"Ada_1_iPhone.csv row 1\n  {csv_row}\n\nframe_log.csv line 1\n  {log_row}")
    axes[6].text(0.0, 0.95, text, family="monospace", fontsize=9, va="top")
    axes[6].axis("off")
    fig.suptitle("facecast unreal take speech_en.wav --timecode-start 14:03:27:00: the .mov of the take folder",
                 fontsize=11)
    fig.tight_layout()
    target = ROOT / "docs" / "img" / "unreal_take.png"
    fig.savefig(target, dpi=100)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
