"""Fit the lip-closure model of :mod:`facecast.phonemes.closures` on the TRAINING voices of a synthetic corpus
and report how it does on the held-out voices.

    .venv/bin/python benchmarks/fit_closures.py [--corpus DIR] [--hours 0.4] [--limit 150]

Every energy dip of an item is labelled shut when one of the item's exact /p b m/ lies within 30 ms of it; a
logistic regression (Newton's method, L2 on standardised features) is fitted to the labels. It prints the
``WEIGHTS`` line to paste into ``closures.py``, then for thresholds around ``THRESHOLD`` the share of held-out
/p b m/ that a closure or a recognised bilabial covers and the false closures per second.
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np

from facecast.phonemes import closures
from facecast.phonemes.inventory import BILABIALS
from facecast.phonemes.recognize import recognize
from facecast.train.corpus import build_corpus, load_item, load_manifest

L2 = 1.0
TOLERANCE_S = 0.03


def labelled_dips(corpus: str, split: str, limit: int) -> list[tuple[list, list, list, float]]:
    """(dips, true bilabials, recognised phones, duration) per item of ``split``."""
    entries = [e for e in load_manifest(corpus)["items"] if e["split"] == split][:limit]
    rows = []
    for entry in entries:
        item = load_item(corpus, entry)
        heard = recognize(item.audio)
        bilabials = [p for p in item.phones if p.symbol in BILABIALS]
        rows.append((closures.find_dips(item.audio, heard), bilabials, heard, len(item.audio) / closures.RATE))
    return rows


def near(dip_time: float, phone: object, tolerance: float = TOLERANCE_S) -> bool:
    return phone.start - tolerance < dip_time < phone.end + tolerance


def fit(rows: list) -> np.ndarray:
    x = np.stack([d.features for dips, *_ in rows for d in dips])
    y = np.array([any(near(d.time, b) for b in bilabials) for dips, bilabials, *_ in rows for d in dips], float)
    mean, std = x.mean(0), x.std(0) + 1e-9
    mean[0], std[0] = 0.0, 1.0  # the bias column stays 1
    z = (x - mean) / std
    w = np.zeros(z.shape[1])
    for _ in range(30):
        p = 1 / (1 + np.exp(-z @ w))
        hessian = (z * (p * (1 - p))[:, None]).T @ z + L2 * np.eye(len(w))
        w -= np.linalg.solve(hessian, z.T @ (p - y) + L2 * w)
    weights = w / std
    weights[0] = w[0] - (w[1:] * mean[1:] / std[1:]).sum()
    print(f"{len(y)} dips from the training voices, {y.mean():.1%} at a /p b m/")
    return weights


def report(rows: list, threshold: float) -> None:
    found = total = false = 0
    seconds = sum(r[3] for r in rows)
    for dips, bilabials, heard, _ in rows:
        shut = [d.time for d in dips if closures.closure_probability(d.features[None])[0] >= threshold]
        heard_bilabials = [p for p in heard if p.symbol in BILABIALS]
        for b in bilabials:
            total += 1
            found += any(near(t, b, 0.035) for t in shut) or any(
                p.start < b.end + 0.035 and p.end > b.start - 0.035 for p in heard_bilabials)
        false += sum(not any(near(t, b, 0.035) for b in bilabials) for t in shut)
    print(f"threshold {threshold:.2f}: {found / total:.1%} of {total} held-out /p b m/ covered, "
          f"{false / seconds:.2f} false closures per second")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", help="an existing corpus folder (default: build one here)")
    parser.add_argument("--hours", type=float, default=0.4)
    parser.add_argument("--limit", type=int, default=150, help="items per split (default 150)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="facecast-fit-closures-") as tmp:
        corpus = args.corpus or tmp
        if args.corpus is None:
            build_corpus(corpus, args.hours, seed=0, jobs=2)
        weights = fit(labelled_dips(corpus, "train", args.limit))
        print("WEIGHTS = np.array([" + ", ".join(f"{w:.4g}" for w in weights) + "])")
        closures.WEIGHTS = weights
        heldout = labelled_dips(corpus, "heldout", args.limit)
        for threshold in (closures.THRESHOLD - 0.1, closures.THRESHOLD, closures.THRESHOLD + 0.1):
            report(heldout, threshold)


if __name__ == "__main__":
    main()
