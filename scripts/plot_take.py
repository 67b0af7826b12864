"""Plot a take's main curves over the speech waveform: `python scripts/plot_take.py AUDIO OUT.png [--animator A]`.

Used to make the pictures in README.md and docs/.
"""

from __future__ import annotations

import argparse

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from facecast.animators import get_animator
from facecast.audio import load_audio

CURVES = ("JawOpen", "MouthFunnel", "MouthStretchLeft", "EyeBlinkLeft", "BrowInnerUp")
ANGLES = ("HeadYaw", "HeadPitch", "LeftEyeYaw")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("audio")
    parser.add_argument("out")
    parser.add_argument("--animator", default=None)
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args()
    audio = load_audio(args.audio)
    animator = get_animator(args.animator)
    clip = animator.animate(audio)
    frames = int(args.seconds * clip.fps)
    t = clip.times[:frames]
    fig, axes = plt.subplots(3, 1, figsize=(11, 6.5), sharex=True, gridspec_kw={"height_ratios": [1, 2, 1.3]})
    samples = audio.samples[: int(args.seconds * audio.sample_rate)]
    axes[0].plot(np.arange(len(samples)) / audio.sample_rate, samples, lw=0.4, color="0.4")
    axes[0].set_ylabel("speech")
    for name in CURVES:
        axes[1].plot(t, clip.curve(name)[:frames], label=name, lw=1.3)
    axes[1].set_ylabel("blendshape weight")
    axes[1].set_ylim(0, 1)
    axes[1].legend(loc="upper right", ncol=3, fontsize=8)
    for name in ANGLES:
        axes[2].plot(t, np.degrees(clip.curve(name)[:frames]), label=name, lw=1.2)
    axes[2].set_ylabel("degrees")
    axes[2].set_xlabel("seconds")
    axes[2].legend(loc="upper right", ncol=3, fontsize=8)
    fig.suptitle(f"facecast {animator.name} animator: {args.audio.split('/')[-1]}")
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)


if __name__ == "__main__":
    main()
