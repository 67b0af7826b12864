"""Quality of the phonetic animator against the energy baseline (DESIGN.md metrics).

    .venv/bin/python benchmarks/bench_phonetic.py [--corpus DIR] [--hours 0.3] [--limit 80]

1. On the held-out voices of a synthetic corpus (built here in a temporary folder unless --corpus is given):
   bilabial closure, curve error against the teacher, blinks per minute, head jitter; for ``energy`` and
   ``phonetic`` with each phone source (recognition, alignment of the item's text, the exact TTS phones).
2. Alignment and recognition accuracy: mean/median |start error| of the phones they place, against the
   exact TTS timings of the same held-out items.
3. Real speech (../shared/data/speech): blinks per minute and head jitter over all clips.
4. Lip-sync r on the real talking videos (../shared/data/video), against the mouth opening that
   ``facecast capture`` measures: r at lag 0 and the best lag in ±5 frames, and curve error vs capture.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from facecast.animators import get_animator
from facecast.audio import MODEL_RATE, Audio, load_audio, resample
from facecast.controls import Controls
from facecast.errors import InvalidInput
from facecast.phonemes.align import align
from facecast.phonemes.recognize import recognize
from facecast.train.corpus import build_corpus
from facecast.train.evaluate import (
    blinks_per_minute,
    boundary_errors,
    curve_error,
    evaluate_items,
    head_jitter,
    lipsync_r,
)
from facecast.train.evaluation_runs import animate_functions, heldout_items

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def corpus_figures(corpus: str, limit: int) -> list:
    items = heldout_items(corpus, limit)
    print(f"\n## Held-out voices: {len(items)} items, {sum(i.info['duration'] for i in items) / 60:.1f} min, "
          f"{len({i.info['voice'] for i in items})} voices")
    results = evaluate_items(items, animate_functions())
    print("| animator | bilabial closure | curve error (MAE, 52 shapes) | blinks/min | head jitter (rad/frame²) |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['bilabial_closure']:.1%} of {r['bilabials']} | {r['curve_error']:.4f} | "
              f"{r['blinks_per_minute']:.1f} | {r['head_jitter']:.2e} |")
    return items


def timing_figures(items: list) -> None:
    aligned, recognised, failed = [], [], 0
    english = [i for i in items if i.info["language"] == "en"]
    for item in english:
        try:
            aligned.append(boundary_errors(item.phones, align(item.audio, item.info["text"])))
        except InvalidInput:
            failed += 1
        recognised.append(boundary_errors(item.phones, recognize(item.audio)))
    for name, parts in (("forced alignment", aligned), ("phone recognition", recognised)):
        errors = np.concatenate(parts) * 1000 if parts else np.zeros(0)
        print(f"{name}: mean |boundary error| {errors.mean():.1f} ms, median {np.median(errors):.1f} ms over "
              f"{len(errors)} matched phones")
    print(f"forced alignment found a path for {len(english) - failed}/{len(english)} English held-out items "
          f"(the animator falls back to recognition for the rest)")


def real_speech_figures() -> None:
    clips = sorted((SHARED / "speech").glob("*.wav"))
    if not clips:
        print("(no ../shared/data/speech: real-speech figures skipped)")
        return
    print(f"\n## Real speech: {len(clips)} clips")
    for name in ("energy", "phonetic"):
        values = [get_animator(name).animate(load_audio(p), Controls(seed=k)).values for k, p in enumerate(clips)]
        frames = np.concatenate(values)
        print(f"{name}: {blinks_per_minute(frames, 30):.1f} blinks/min, head jitter "
              f"{np.mean([head_jitter(v) for v in values]):.2e} rad/frame² over {len(frames) / 30 / 60:.1f} min")


def lipsync_figures() -> None:
    videos = sorted((SHARED / "video").glob("*.mp4"))
    try:
        from facecast.face.capture import capture_video
    except ImportError as e:
        print(f"(capture unavailable: {e})")
        return
    if not videos:
        return
    print("\n## Lip-sync r against facecast capture (JawOpen vs measured mouth opening)")
    print("| video | energy r (best, lag) | phonetic r (best, lag) | curve error vs capture: energy / phonetic |")
    print("|---|---|---|---|")
    means: dict[str, list[float]] = {"energy": [], "phonetic": []}
    for video in videos:
        captured = capture_video(video, fps=30, progress=False)
        audio = Audio(resample(captured.audio.samples, captured.audio.sample_rate, MODEL_RATE), MODEL_RATE)
        cells, errors = [], []
        for name in means:
            clip = get_animator(name).animate(audio, Controls())
            r0, best, lag = lipsync_r(clip.curve("JawOpen"), captured.mouth_opening)
            means[name].append(r0)
            cells.append(f"{r0:+.3f} ({best:+.3f}, {lag:+d})")
            errors.append(curve_error(clip.values, captured.clip.values))
        print(f"| {video.name} | {cells[0]} | {cells[1]} | {errors[0]:.4f} / {errors[1]:.4f} |")
    print(f"| mean r at lag 0 | {np.mean(means['energy']):+.3f} | {np.mean(means['phonetic']):+.3f} | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", help="an existing corpus folder (default: build one here)")
    parser.add_argument("--hours", type=float, default=0.3, help="size of the corpus built here (default 0.3 h)")
    parser.add_argument("--limit", type=int, default=80, help="held-out items to evaluate (default 80)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-corpus", action="store_true", help="only the real-speech and video figures")
    args = parser.parse_args()
    if not args.skip_corpus:
        corpus_section(args)
    real_speech_figures()
    lipsync_figures()


def corpus_section(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="facecast-bench-phonetic-") as tmp:
        corpus = args.corpus
        if corpus is None:
            corpus = tmp
            build_corpus(corpus, args.hours, seed=args.seed, jobs=2)
        items = corpus_figures(corpus, args.limit)
        timing_figures(items)


if __name__ == "__main__":
    main()
