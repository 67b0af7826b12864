"""The pictures of docs/NEURAL.md: `python scripts/neural_docs_pictures.py --data DATASET [--out docs/img]`.

1. ``neural_mouth.png``: a validation speaker's clip (never trained on): the mouth opening measured in the video
   beside the JawOpen of the default clip path (`neural`, fused with the Whisper jaw), of a `neural` stream in
   20 ms chunks (the model fused with the streaming Whisper jaw), of the model alone (`neural-fast`) and of
   `phonetic`, each standardised, with r at lag 0. The clip is not chosen by hand: of the validation
   clips longer than 4 s (the interview speakers), the one where the default path's r is the median.
2. ``neural_heads.png``: the learned head on the shipped English speech: two seeds (same mouth, other head), and
   the head-motion control at 0.5, 1 and 2.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from facecast.animators import get_animator
from facecast.animators.base import Animator, run_session
from facecast.audio import Audio, load_audio
from facecast.controls import Controls
from facecast.motion import CHANNEL_INDEX, MotionClip
from facecast.train.loso import held_clips

ROOT = Path(__file__).resolve().parents[1]
JAW = CHANNEL_INDEX["JawOpen"]
MIN_SECONDS = 4.0


def _paired(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = min(len(a), len(b))
    return a[:n], b[:n]


def standard(x: np.ndarray) -> np.ndarray:
    return (x - x.mean()) / (x.std() + 1e-9)


def streamed(animator: Animator, audio: Audio, controls: Controls, fps: int) -> MotionClip:
    """The animator's live stream of ``audio`` in 20 ms chunks, as a clip."""
    return MotionClip.from_frames(fps, run_session(animator.stream(controls, fps), audio.samples, chunk_s=0.02))


def mouth_picture(data: Path, out: Path) -> None:
    manifest = json.loads((data / "manifest.json").read_text())
    chosen = {c["id"] for c in manifest["clips"] if c["split"] == "validation"}
    clips = [c for source in sorted({i.split("/")[0] for i in chosen}) for c in held_clips(data, source, 10_000)
             if c[0] in chosen and c[1].duration > MIN_SECONDS]
    if not clips:
        raise SystemExit(f"error: no validation clip longer than {MIN_SECONDS:g} s in {data}")
    fused = get_animator("neural")
    scores = [float(np.corrcoef(*_paired(fused.animate(a, Controls(), fps=f).values[:, JAW], t["opening"]))[0, 1])
              for _, a, t, f in clips]
    median = int(np.argsort(scores)[len(scores) // 2])
    name, audio, truth, fps = clips[median]
    gap = truth["opening"]
    curves = {"neural (clips: the model + Whisper jaw)": fused.animate,
              "neural stream, 20 ms chunks (the model + streaming Whisper jaw)": lambda *a, **k: streamed(fused, *a,
                                                                                                         **k),
              "neural-fast (the model alone)": get_animator("neural-fast").animate,
              "phonetic": get_animator("phonetic").animate}
    fig, axes = plt.subplots(len(curves), 1, figsize=(11, 8.6), sharex=True)
    for ax, (label, animate) in zip(axes, curves.items()):
        jaw = animate(audio, Controls(), fps=fps).values[:, JAW]
        n = min(len(jaw), len(gap))
        t = np.arange(n) / fps
        r = float(np.corrcoef(jaw[:n], gap[:n])[0, 1])
        ax.fill_between(t, standard(gap[:n]), -3, color="0.85", label="mouth opening in the video")
        ax.plot(t, standard(jaw[:n]), lw=1.4, label=f"{label}: JawOpen, r = {r:+.2f}")
        ax.set_ylim(-2.5, 5.5)
        ax.set_yticks([])
        ax.legend(loc="upper left", fontsize=9, frameon=False, ncol=2)
    axes[-1].set_xlabel("seconds")
    fig.suptitle(f"A speaker the model never heard ({name}: the median of {len(clips)} validation clips), "
                 "curves in standard units", fontsize=11)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def heads_picture(out: Path) -> None:
    audio = load_audio(ROOT / "assets" / "speech_en.wav")
    neural = get_animator("neural-fast")  # the same head as clips get, without the recogniser's wait
    takes = {"seed 0": Controls(seed=0), "seed 1": Controls(seed=1)}
    levels = {f"head_motion {h:g}": Controls(seed=0, head_motion=h) for h in (0.5, 1.0, 2.0)}
    fig, axes = plt.subplots(3, 1, figsize=(11, 7), sharex=True)
    for label, controls in takes.items():
        clip = neural.animate(audio, controls)
        axes[0].plot(clip.times, np.degrees(clip.curve("HeadYaw")), lw=1.3, label=f"{label}: yaw")
        axes[1].plot(clip.times, clip.curve("JawOpen"), lw=1.3, label=f"{label}: JawOpen")
    for label, controls in levels.items():
        clip = neural.animate(audio, controls)
        axes[2].plot(clip.times, np.degrees(clip.curve("HeadPitch")), lw=1.3, label=f"{label}: pitch")
    axes[0].set_ylabel("degrees")
    axes[1].set_ylabel("0..1")
    axes[2].set_ylabel("degrees")
    for ax, title in zip(axes, ("two seeds: another head ...", "... and the same mouth",
                                "the head-motion control scales the head")):
        ax.set_title(title, fontsize=10, loc="left")
        ax.legend(loc="upper right", fontsize=9, frameon=False)
    axes[-1].set_xlabel("seconds (assets/speech_en.wav)")
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="dataset folder (facecast dataset build)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()
    mouth_picture(args.data, args.out / "neural_mouth.png")
    heads_picture(args.out / "neural_heads.png")
    print(f"wrote {args.out / 'neural_mouth.png'} and {args.out / 'neural_heads.png'}")


if __name__ == "__main__":
    main()
