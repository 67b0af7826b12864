"""Draws docs/img/phonetic_curves.png: the phonetic animator's main mouth curves for a sample sentence spoken by
espeak-ng, with the exact phone track (and visemes) under them, and the energy animator's JawOpen for contrast.

    .venv/bin/python benchmarks/plot_phonetic.py [--out docs/img/phonetic_curves.png]

Needs matplotlib (a docs tool, not a runtime dependency).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from facecast.animators import get_animator
from facecast.audio import MODEL_RATE, Audio, resample
from facecast.controls import Controls
from facecast.phonemes import espeak
from facecast.phonemes.visemes import viseme_of

SENTENCE = "Maybe we should move the blue boat before the storm."
CURVES = ("JawOpen", "MouthClose", "MouthPucker", "MouthFunnel", "MouthStretchLeft", "MouthRollLower", "BrowInnerUp")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs/img/phonetic_curves.png"))
    args = parser.parse_args()
    spoken = espeak.speak(SENTENCE, "en-us+m3")
    audio = Audio(resample(spoken.samples.astype(np.float32), spoken.sample_rate, MODEL_RATE), MODEL_RATE)
    clip = get_animator("phonetic").animate(audio, Controls(seed=0), 30, phones=spoken.phones)
    energy = get_animator("energy").animate(audio, Controls(seed=0), 30)
    times = clip.times
    fig, (top, phones_ax) = plt.subplots(2, 1, figsize=(13, 5.6), sharex=True,
                                         gridspec_kw={"height_ratios": [4, 1]})
    for name in CURVES:
        top.plot(times, clip.curve(name), label=name, linewidth=1.6)
    top.plot(times, energy.curve("JawOpen"), "k:", label="JawOpen (energy animator)", linewidth=1.2)
    top.set_ylabel("blendshape weight")
    top.set_ylim(0, 1)
    top.legend(ncol=4, fontsize=8, loc="upper right")
    top.set_title(f'phonetic animator, exact espeak-ng phone timings: "{SENTENCE}"')
    for phone in spoken.phones:
        if phone.symbol == "SIL":
            continue
        color = "#f4a6a6" if phone.symbol in ("P", "B", "M") else "#dde6f0"
        phones_ax.axvspan(phone.start, phone.end, color=color, ec="white")
        phones_ax.text(phone.center, 0.66, phone.symbol, ha="center", va="center", fontsize=7)
        phones_ax.text(phone.center, 0.25, viseme_of(phone.symbol), ha="center", va="center", fontsize=6, color="#555")
        for ax in (top,):
            if phone.symbol in ("P", "B", "M"):
                ax.axvspan(phone.start, phone.end, color="#f4a6a6", alpha=0.35)
    phones_ax.set_yticks([0.66, 0.25], ["phone", "viseme"])
    phones_ax.set_ylim(0, 1)
    phones_ax.set_xlabel("time (s); red: /p b m/, where the lips must shut")
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
