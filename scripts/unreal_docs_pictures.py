"""The pictures of docs/UNREAL.md, all drawn from real runs (no Unreal screenshots: Unreal cannot run here).

    .venv/bin/python scripts/unreal_docs_pictures.py [packet flow presenter jitter]   (all when none is named)

- unreal_packet.png: the Live Link Face packet layout, with the field values of a packet the bridge sent.
- unreal_capture.png: curves of one subject as they arrived on 127.0.0.1, next to the take CSV the bridge wrote.
- unreal_flow.png: how speech becomes Live Link, takes and presenter frames.
- unreal_jitter.png: frame-interval jitter of 8 subjects at 60 fps, normal vs real-time sender priority.
- unreal_presenter.png: frames of the image sequence `facecast unreal present` wrote, from the shipped
  public-domain painting assets/mona_lisa.jpg.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from unreal_helpers import Receiver, parse_llf, soak  # noqa: E402

from facecast.exports.livelink_csv import read_csv  # noqa: E402
from facecast.motion import CHANNEL_INDEX, LIVELINK_ANGLE_SCALE  # noqa: E402
from facecast.unreal.bridge import Bridge  # noqa: E402

from daemon import Daemon  # noqa: E402

IMG = ROOT / "docs" / "img"


def packet_picture(packet: bytes) -> None:
    p = parse_llf(packet)
    fields = [("version", 1, f"{p.version}"), ("id length", 4, f"{len(p.device_id)}"),
              ("device id", len(p.device_id), p.device_id[:13] + "…"), ("name length", 4, f"{len(p.subject)}"),
              ("subject", len(p.subject), p.subject), ("frame", 4, f"{p.frame_number}"),
              ("sub-frame", 4, f"{p.sub_frame:.3f}"), ("fps num", 4, f"{p.fps_numerator}"),
              ("fps den", 4, f"{p.fps_denominator}"), ("count", 1, f"{p.count}"),
              ("61 × float32 (EARFaceBlendShape order)", 244, f"JawOpen {p.values[CHANNEL_INDEX['JawOpen']]:.3f} …")]
    fig, ax = plt.subplots(figsize=(13, 2.6))
    widths = [max(size, 10) for _, size, _ in fields]
    widths[-1] = 60
    x = 0
    colours = plt.cm.tab20(np.linspace(0, 1, len(fields)))
    for (name, size, value), width, colour in zip(fields, widths, colours, strict=True):
        ax.add_patch(plt.Rectangle((x, 0), width, 1, facecolor=colour, edgecolor="black"))
        ax.text(x + width / 2, 0.68, name, ha="center", va="center", fontsize=8, weight="bold")
        ax.text(x + width / 2, 0.4, value, ha="center", va="center", fontsize=7)
        ax.text(x + width / 2, 0.12, f"{size} B", ha="center", va="center", fontsize=7, color="#333")
        x += width
    ax.set_xlim(0, x)
    ax.set_ylim(0, 1)
    ax.axis("off")
    ax.set_title(f"Live Link Face packet as sent by the bridge ({len(packet)} bytes, all big-endian)")
    fig.tight_layout()
    fig.savefig(IMG / "unreal_packet.png", dpi=110)
    plt.close(fig)


def capture_picture(daemon: Daemon, work: Path) -> bytes:
    receiver = Receiver()
    try:
        with Bridge(daemon=daemon.address, port=receiver.port, takes=work, take_video=False) as bridge:
            ada = bridge.add_subject("Ada", fps=60)
            ada.say(ROOT / "assets" / "speech_en.wav")
            ada.source.close()
            bridge.wait(timeout=60)
    finally:
        receiver.close()
    packets = [parse_llf(data) for _, data in receiver.packets]
    values = np.array([p.values for p in packets])
    take = read_csv(next(ada.stats.takes[0].glob("*_iPhone.csv")))
    t = np.arange(len(values)) / 60
    fig, axes = plt.subplots(3, 1, figsize=(10, 6), sharex=True)
    for ax, name, scale in zip(axes, ("JawOpen", "EyeBlinkLeft", "HeadYaw"), (1, 1, LIVELINK_ANGLE_SCALE),
                               strict=True):
        ax.plot(t, values[:, CHANNEL_INDEX[name]], lw=2.5, alpha=0.5, label="UDP packets received on 127.0.0.1")
        ax.plot(t, take.curve(name) / scale, lw=0.8, color="black", label="take CSV written by the bridge")
        ax.set_ylabel(name + (" (app units)" if scale != 1 else ""))
    axes[0].legend(loc="upper right", fontsize=8)
    axes[-1].set_xlabel("seconds (60 fps, assets/speech_en.wav through the daemon's default animator)")
    fig.suptitle("Subject 'Ada': what Unreal's Live Link Face source receives")
    fig.tight_layout()
    fig.savefig(IMG / "unreal_capture.png", dpi=100)
    plt.close(fig)
    return receiver.packets[len(receiver.packets) // 2][1]


def flow_picture() -> None:
    boxes = {
        "speech\n(file, folder queue,\nmicrophone, Python API)": (0.08, 0.5),
        "facecast daemon\nStream (gRPC)\none per subject": (0.33, 0.5),
        "bridge\nsubjects + one\ntimed UDP sender": (0.58, 0.5),
        "Unreal\nLive Link Face source\n→ MetaHuman / ARKit head": (0.88, 0.75),
        "take folders\nCSV + wav + mov + take.json\n→ import script / MetaHuman": (0.88, 0.42),
        "presenter frames\nMJPEG over HTTP or\nimage sequence + wav": (0.88, 0.1),
    }
    fig, ax = plt.subplots(figsize=(11, 4))
    for text, (x, y) in boxes.items():
        ax.text(x, y, text, ha="center", va="center", fontsize=9,
                bbox=dict(boxstyle="round,pad=0.5", facecolor="#e8eef7", edgecolor="#345"))
    arrows = [((0.15, 0.5), (0.26, 0.5), "PCM chunks", (0.205, 0.56)),
              ((0.4, 0.5), (0.51, 0.5), "frames + time codes", (0.455, 0.56)),
              ((0.65, 0.55), (0.79, 0.73), "UDP :11111\nframe i at t0 + i/fps", (0.66, 0.74)),
              ((0.65, 0.5), (0.78, 0.43), "", None),
              ((0.65, 0.45), (0.79, 0.13), "same clock", (0.66, 0.22))]
    for start, end, label, where in arrows:
        ax.annotate("", end, start, arrowprops=dict(arrowstyle="->", lw=1.5))
        if label:
            ax.text(*where, label, ha="center" if where[0] < 0.6 else "left", fontsize=8)
    ax.axis("off")
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.05, 0.95)
    fig.tight_layout()
    fig.savefig(IMG / "unreal_flow.png", dpi=100)
    plt.close(fig)


def jitter_picture(daemon: Daemon, seconds: float = 20.0) -> None:
    fig, ax = plt.subplots(figsize=(9, 3.5))
    for realtime in (False, True):
        result = soak(daemon.address, 8, 60, seconds, realtime=realtime)
        label = "--realtime" if realtime else "normal priority"
        figures = result.send_jitter_ms
        ax.bar([f"{label}\np50", f"{label}\np99"], [figures["p50"], figures["p99"]])
    ax.axhline(2.0, color="red", lw=1, ls="--", label="2 ms target")
    ax.set_ylabel("|frame interval − 1/60 s|, ms")
    ax.set_title(f"8 subjects × 60 fps × {seconds:g} s, send-side jitter on a shared 2-core machine")
    ax.legend()
    fig.tight_layout()
    fig.savefig(IMG / "unreal_jitter.png", dpi=100)
    plt.close(fig)


def presenter_picture(daemon: Daemon, work: Path) -> None:
    out = work / "presenter"
    subprocess.run([sys.executable, "-m", "facecast", "unreal", "present", str(ROOT / "assets" / "speech_en.wav"),
                    "--image", str(ROOT / "assets" / "mona_lisa.jpg"), "--size", "192", "--fps", "24", "--sequence",
                    str(out), "--daemon", daemon.address], check=True)
    from PIL import Image

    picks = [0, 12, 24, 36, 48, 60]
    fig, axes = plt.subplots(1, len(picks), figsize=(12, 2.4))
    for ax, index in zip(axes, picks, strict=True):
        ax.imshow(Image.open(out / f"frame_{index:06d}.jpg"))
        ax.set_title(f"frame_{index:06d}.jpg", fontsize=8)
        ax.axis("off")
    fig.suptitle("facecast unreal present --sequence: an image sequence for an Img Media Source (+ audio.wav)")
    fig.tight_layout()
    fig.savefig(IMG / "unreal_presenter.png", dpi=100)
    plt.close(fig)


def main(names: list[str]) -> None:
    wanted = set(names) or {"packet", "flow", "presenter", "jitter"}
    daemon = Daemon()
    try:
        with tempfile.TemporaryDirectory() as work:
            if "packet" in wanted:  # unreal_capture.png and unreal_packet.png come from the same run
                packet_picture(capture_picture(daemon, Path(work)))
            if "flow" in wanted:
                flow_picture()
            if "presenter" in wanted:
                presenter_picture(daemon, Path(work))
            if "jitter" in wanted:
                jitter_picture(daemon)
    finally:
        daemon.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
