"""Lip sync and motion of the learned animator against `phonetic`, `energy` and Rhubarb Lip Sync, in one run.

    nice -n 5 .venv/bin/python benchmarks/bench_neural.py [--quick] [--animators neural phonetic energy]
        [--neural-model PATH] [--videos FILE_OR_FOLDER ...] [--fold SOURCE=MODEL ...] [--json out/bench_neural.json]

To measure another checkout's code, run this file with that checkout's interpreter (its ``facecast`` is used).

Sections (DESIGN.md, "How quality is measured"; the yardstick is ../shared/tools/mouth_track.py, as in
lipsync_check.py: animation at 30 fps, the tracked opening interpolated to the frame times):
1. yardstick: ../shared/data/video (evaluation only): r at lag 0 and the best lag within ±5 frames, per clip and
   mean over clips;
2. other videos (``--videos``) and leave-one-source-out folds (``--fold SOURCE=MODEL``: the videos of SOURCE, a
   folder or a folder name under ../shared/data/train, scored with the neural animator loading MODEL, beside the
   baselines), the same figures;
3. closure recall of /p b m/ on GRID s1 (word times of grid_s1_align, phones from the CMU dictionary spread
   evenly over each word), and on the synthetic corpus's held-out voices, with curve error against the teacher;
   the share of frames with shut lips is printed beside it (an always-shut mouth would score 100 %);
4. motion naturalness against `facecast capture` of the yardstick videos (evaluation only): moving shapes, left/
   right pairs, head speed (and its ratio to capture), blinks/min, head jitter, diversity of head motion across
   seeds with the mouth unchanged (see evalkit/motion_stats.py for the definitions and thresholds);
5. robustness: r under white noise at SNR 10 and 0 dB and under a synthetic music bed (evalkit/robustness.py
   says what it is) at 5 dB speech-to-music; mouth against speech activity on non-English speech; singing when
   any singing material exists (none ships here, which it says).
Rhubarb: tools/node_modules (``make tools/node_modules/.installed``) or ``$FACECAST_RHUBARB``; see evalkit/rhubarb.py.
Tracker, capture, Rhubarb and corpus results are cached under ``--cache`` (default ~/.cache/facecast-bench).
``--quick`` (about a minute): one yardstick clip, two GRID clips, a tiny corpus, two seeds; Rhubarb on the
yardstick only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from evalkit import motion_stats, rhubarb, robustness, yardstick

import facecast
from facecast.audio import MODEL_RATE, Audio, load_audio
from facecast.controls import Controls
from facecast.fileio import atomic_write_text
from facecast.motion import CHANNEL_INDEX, NUM_CHANNELS
from facecast.phonemes import Phone
from facecast.train.dataset import GRID_SILENCES, grid_words
from facecast.train.evaluate import LIPS_SHUT_BELOW, bilabial_closure, curve_error, lip_aperture

ROOT = Path(__file__).resolve().parents[1]
DATA = yardstick.DATA
FPS = 30
JAW = CHANNEL_INDEX["JawOpen"]
VIDEO_SUFFIXES = (".mp4", ".mpg", ".mov", ".mkv", ".avi", ".webm")
HONEST_VIDEOS = ("retalking_face_1.mp4", "retalking_face_3.mp4")  # their sound is the speaker's own voice
NON_ENGLISH = {"sadtalker_bus_chinese.wav": "zh", "sadtalker_chinese_news.wav": "zh", "sadtalker_deyu.wav": "de"}
OPEN_ABOVE = 0.05  # JawOpen above this counts as an open mouth when compared with speech activity
GRID_UNIT_S = 1 / 25000
LIVE_CHUNK_S = 0.02


@dataclass
class Contender:
    """Something that turns speech into motion: an animator, or Rhubarb (mouth only, run on many clips at once)."""

    name: str
    takes: Callable[[list[np.ndarray], int], list[np.ndarray]]  # (16 kHz clips, seed) -> values [T, 61] each
    full_motion: bool = True
    info: dict[str, Any] = field(default_factory=dict)


def animator_contender(name: str, model: Path | None = None, live: bool = False, whisper: bool = True) -> Contender:
    """An animator by registry name (``neural`` with ``model`` loads that file). ``live``: fed as a real-time
    stream in :data:`LIVE_CHUNK_S` chunks through ``stream()`` instead of ``animate()`` (named ``NAME-live``).
    ``whisper=False``: ``neural``'s clips are not fused with the shipped Whisper jaw head (the folds: that head
    was fitted on every training source; its own fold figures come from ``python -m facecast.train.whisper_jaw
    folds``)."""
    from facecast.animators import get_animator

    if name == "neural" and model is not None:
        from facecast.animators.neural import NeuralAnimator

        animator = NeuralAnimator(model_path=model, fuse_whisper=whisper)
    else:
        animator = get_animator(name)

    def offline(clip: np.ndarray, seed: int) -> np.ndarray:
        return animator.animate(Audio(clip, MODEL_RATE), Controls(seed=seed), FPS).values

    def streamed(clip: np.ndarray, seed: int) -> np.ndarray:
        session = animator.stream(Controls(seed=seed), FPS)
        step = int(LIVE_CHUNK_S * MODEL_RATE)
        frames = [f for k in range(0, len(clip), step) for f in session.push(clip[k:k + step])] + session.flush()
        return np.stack([f.values for f in frames]) if frames else np.zeros((0, NUM_CHANNELS), np.float32)

    one = streamed if live else offline
    weights = model or Path(facecast.__file__).parent / "models" / name / f"{name}.onnx"
    info = {"model": str(weights) if weights.is_file() else None,
            "model_sha256": yardstick.file_key(weights) if weights.is_file() else None, "version": animator.version,
            "lookahead_ms": animator.lookahead_ms, "mode": f"stream, {LIVE_CHUNK_S * 1000:.0f} ms chunks" if live
            else "clip"}
    return Contender(f"{name}-live" if live else name, lambda clips, seed: [one(c, seed) for c in clips], info=info)


def rhubarb_contender(binary: Path, cache: Path) -> Contender:
    def takes(clips: list[np.ndarray], seed: int) -> list[np.ndarray]:
        out = []
        for jaw in rhubarb.jaw_curves(binary, clips, FPS, cache):
            values = np.zeros((len(jaw), NUM_CHANNELS), np.float32)
            values[:, JAW] = jaw
            out.append(values)
        return out

    return Contender("rhubarb", takes, full_motion=False, info={"binary": str(binary), "version": rhubarb.VERSION})


def neural_available() -> bool:
    from facecast.animators import animator_names

    return "neural" in animator_names()


# ---------------------------------------------------------------- lip sync against the yardstick tracker


def list_videos(paths: list[Path], limit: int | None) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)[:limit]
        elif path.is_file():
            found.append(path)
        else:
            raise SystemExit(f"error: {path} is neither a video nor a folder")
    return found


def video_audio(video: Path) -> np.ndarray:
    return load_audio(video).samples


def lipsync_rows(videos: list[Path], contenders: list[Contender], cache: Path) -> dict[str, Any]:
    """Per video and contender: r at lag 0, best r and its lag; means and spread over videos."""
    clips = [video_audio(v) for v in videos]
    truths = [yardstick.truth_for(video, len(clip), FPS, cache) for video, clip in zip(videos, clips)]
    per_video: dict[str, dict[str, Any]] = {v.name: {} for v in videos}
    for contender in contenders:
        for video, take, truth in zip(videos, contender.takes(clips, 0), truths):
            r0, best, lag = yardstick.lipsync(take[:, JAW], truth)
            per_video[video.name][contender.name] = {"r": r0, "best_r": best, "best_lag": lag}
    names = [c.name for c in contenders]
    sources = {}
    for folder in sorted({v.parent for v in videos}):
        sources[folder.name] = summarise({v.name: per_video[v.name] for v in videos if v.parent == folder}, names)
    return {"videos": per_video, "summary": summarise(per_video, names), "sources": sources}


def summarise(per_video: dict[str, dict[str, Any]], names: list[str]) -> dict[str, dict[str, float]]:
    out = {}
    for name in names:
        r = np.array([row[name]["r"] for row in per_video.values() if name in row])
        best = np.array([row[name]["best_r"] for row in per_video.values() if name in row])
        out[name] = {"mean_r": float(r.mean()) if len(r) else float("nan"),
                     "std_r": float(r.std()) if len(r) else float("nan"),
                     "min_r": float(r.min()) if len(r) else float("nan"),
                     "max_r": float(r.max()) if len(r) else float("nan"),
                     "mean_best_r": float(best.mean()) if len(best) else float("nan"), "clips": len(r)}
    return out


def print_lipsync(title: str, result: dict[str, Any], names: list[str]) -> None:
    print(f"\n### {title}\n")
    print("| video | " + " | ".join(f"{n} r (best, lag)" for n in names) + " |")
    print("|---|" + "---|" * len(names))
    for video, row in result["videos"].items():
        cells = [f"{row[n]['r']:+.3f} ({row[n]['best_r']:+.3f}, {row[n]['best_lag']:+d})" if n in row else "—"
                 for n in names]
        print(f"| {video} | " + " | ".join(cells) + " |")
    s = result["summary"]
    print("| **mean r** (± sd; best-lag mean) | " + " | ".join(
        f"**{s[n]['mean_r']:+.3f}** (± {s[n]['std_r']:.3f}; {s[n]['mean_best_r']:+.3f})" for n in names) + " |")


# ---------------------------------------------------------------- closures


def grid_phones(align_file: Path) -> list[Phone]:
    """Phones of a GRID clip: its word times, each word's CMU-dictionary phones spread evenly over the word."""
    from facecast.phonemes.align import pronunciations

    phones: list[Phone] = []
    for first, last, word in grid_words(align_file):
        start, end = first * GRID_UNIT_S, last * GRID_UNIT_S
        if word in GRID_SILENCES:
            phones.append(Phone("SIL", start, end))
            continue
        symbols = [s.rstrip("012") for _, syms in pronunciations(word) for s in syms]
        step = (end - start) / max(1, len(symbols))
        phones += [Phone(s, start + k * step, start + (k + 1) * step) for k, s in enumerate(symbols)]
    return phones


def closure_figures(takes: list[np.ndarray], phones: list[list[Phone]]) -> dict[str, float]:
    closed = total = 0
    for values, item_phones in zip(takes, phones):
        c, t = bilabial_closure(values, item_phones, FPS)
        closed, total = closed + c, total + t
    frames = np.concatenate(takes)
    return {"closure_recall": closed / total if total else float("nan"), "bilabials": total,
            "shut_frames": float(np.mean(lip_aperture(frames) < LIPS_SHUT_BELOW))}


def grid_section(contenders: list[Contender], count: int) -> dict[str, Any]:
    clips_dir, align_dir = DATA / "train" / "grid_s1", DATA / "train" / "grid_s1_align"
    videos = sorted(clips_dir.glob("*.mpg")) + sorted(clips_dir.glob("*.mp4"))
    videos = [v for v in videos if (align_dir / f"{v.stem}.align").is_file()][:count]
    if not videos:
        return {"skipped": f"no GRID clips with alignments in {clips_dir}"}
    clips = [video_audio(v) for v in videos]
    phones = [grid_phones(align_dir / f"{v.stem}.align") for v in videos]
    return {"clips": len(videos),
            "results": {c.name: closure_figures(c.takes(clips, 0), phones) for c in contenders}}


def corpus_section(contenders: list[Contender], corpus: Path | None, hours: float, limit: int,
                   cache: Path) -> dict[str, Any]:
    from facecast.train.corpus import build_corpus
    from facecast.train.evaluation_runs import heldout_items

    if corpus is None:
        corpus = cache / f"corpus_{hours:g}h_seed0"
        if not (corpus / "manifest.json").is_file():
            build_corpus(corpus, hours, seed=0, jobs=2)
    items = heldout_items(corpus, limit)
    clips = [np.asarray(i.audio, np.float32) for i in items]
    results = {}
    for contender in contenders:
        takes = contender.takes(clips, 0)
        figures = closure_figures(takes, [i.phones for i in items])
        jaw_errors = [float(np.mean(np.abs(t[:len(i.motion), JAW] - i.motion[:len(t), JAW]))) for t, i in
                      zip(takes, items)]
        figures["jaw_mae"] = float(np.mean(jaw_errors))
        figures["curve_error"] = (float(np.mean([curve_error(t, i.motion) for t, i in zip(takes, items)]))
                                  if contender.full_motion else float("nan"))
        results[contender.name] = figures
    return {"corpus": str(corpus), "items": len(items), "voices": len({i.info["voice"] for i in items}),
            "minutes": sum(len(c) for c in clips) / MODEL_RATE / 60, "results": results}


def print_closures(grid: dict[str, Any], corpus: dict[str, Any], names: list[str]) -> None:
    print("\n### Closures and curve error\n")
    print("| animator | GRID s1 /p b m/ closed (shut frames) | corpus held-out /p b m/ closed (shut frames) "
          "| curve error vs teacher (52) | JawOpen MAE vs teacher |")
    print("|---|---|---|---|---|")
    for n in names:
        g = grid.get("results", {}).get(n)
        c = corpus.get("results", {}).get(n)
        cells = [f"{g['closure_recall']:.1%} of {g['bilabials']} ({g['shut_frames']:.0%})" if g else "—",
                 f"{c['closure_recall']:.1%} of {c['bilabials']} ({c['shut_frames']:.0%})" if c else "—",
                 f"{c['curve_error']:.4f}" if c and np.isfinite(c["curve_error"]) else "—",
                 f"{c['jaw_mae']:.4f}" if c else "—"]
        print(f"| {n} | " + " | ".join(cells) + " |")
    if "clips" in grid:
        print(f"\nGRID: {grid['clips']} clips of speaker s1. Corpus: {corpus.get('items')} held-out items, "
              f"{corpus.get('voices')} voices, {corpus.get('minutes', 0):.1f} min.")


# ---------------------------------------------------------------- naturalness


def captured(video: Path, cache: Path) -> np.ndarray:
    from facecast.face.capture import capture_video

    cached = cache / f"capture_{yardstick.file_key(video)}_{FPS}.npy"
    if cached.is_file():
        return np.load(cached)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = capture_video(video, fps=FPS, progress=False).clip.values
    cache.mkdir(parents=True, exist_ok=True)
    part = cached.with_suffix(".part.npy")
    np.save(part, values)
    os.replace(part, cached)
    return values


def naturalness_section(videos: list[Path], contenders: list[Contender], seeds: int, cache: Path) -> dict[str, Any]:
    real = motion_stats.naturalness([captured(v, cache) for v in videos], FPS)
    clips = [video_audio(v) for v in videos]
    results: dict[str, Any] = {"capture": real}
    for contender in (c for c in contenders if c.full_motion):
        by_seed = [contender.takes(clips, seed) for seed in range(seeds)]
        stats = motion_stats.naturalness(by_seed[0], FPS)
        stats["head_speed_vs_capture"] = stats["head_speed_rad_s"] / max(real["head_speed_rad_s"], 1e-12)
        diversity = [motion_stats.seed_diversity([by_seed[s][k] for s in range(seeds)]) for k in range(len(clips))]
        stats["diversity"] = {key: float(np.mean([d[key] for d in diversity])) for key in diversity[0]}
        results[contender.name] = stats
    return {"videos": [v.name for v in videos], "seeds": seeds, "results": results}


def print_naturalness(section: dict[str, Any]) -> None:
    print(f"\n### Motion against capture of the real videos ({len(section['videos'])} yardstick videos, "
          f"{section['seeds']} seeds)\n")
    print("| take | shapes moving (of 52) | L/R mean abs diff | L/R pairs bit-identical | head speed rad/s "
          "(× capture) | blinks/min | head jitter rad/frame² | head Δ between seeds ° (yaw r) | "
          "max JawOpen Δ between seeds |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, s in section["results"].items():
        ratio = f" ({s['head_speed_vs_capture']:.2f}×)" if "head_speed_vs_capture" in s else ""
        d = s.get("diversity")
        seeds = f"{d['head_diff_deg']:.2f} ({d['yaw_r_between_seeds']:+.2f})" if d else "—"
        jaw = f"{d['jaw_max_diff']:.4f}" if d else "—"
        label = "**capture of the real video**" if name == "capture" else name
        print(f"| {label} | {s['moving_shapes']} | {s['lr_mean_abs']:.4f} | {s['lr_identical_pairs']} of "
              f"{s['lr_pairs']} | {s['head_speed_rad_s']:.3f}{ratio} | {s['blinks_per_minute']:.1f} | "
              f"{s['head_jitter']:.2e} | {seeds} | {jaw} |")


# ---------------------------------------------------------------- robustness


def robustness_section(videos: list[Path], contenders: list[Contender], speech: list[Path], cache: Path,
                       conditions: tuple[str, ...]) -> dict[str, Any]:
    clean = [video_audio(v) for v in videos]
    truths = [yardstick.truth_for(video, len(clip), FPS, cache) for video, clip in zip(videos, clean)]
    makers: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
        "clean": lambda x, k: x,
        "noise 10 dB": lambda x, k: robustness.at_snr(x, robustness.white_noise(len(x), k), 10),
        "noise 0 dB": lambda x, k: robustness.at_snr(x, robustness.white_noise(len(x), k), 0),
        "music 5 dB": lambda x, k: robustness.at_snr(x, robustness.music_bed(len(x), MODEL_RATE, k), 5),
    }
    lipsync: dict[str, dict[str, float]] = {}
    for contender in contenders:
        lipsync[contender.name] = {}
        for condition in conditions:
            clips = [makers[condition](x, k) for k, x in enumerate(clean)]
            takes = contender.takes(clips, 0)
            rs = [yardstick.lipsync(t[:, JAW], truth)[0] for t, truth in zip(takes, truths)]
            lipsync[contender.name][condition] = float(np.mean(rs))
    activity: dict[str, dict[str, dict[str, float]]] = {}
    clips = [load_audio(p).samples for p in speech]
    for contender in contenders:
        activity[contender.name] = {}
        for path, clip, take in zip(speech, clips, contender.takes(clips, 0)):
            talking = robustness.speech_activity(clip, MODEL_RATE, FPS, len(take))
            jaw = take[:, JAW]
            opened = jaw > OPEN_ABOVE
            hit = float(opened[talking].mean()) if talking.any() else float("nan")
            rest = float((~opened[~talking]).mean()) if (~talking).any() else float("nan")
            activity[contender.name][path.name] = {
                "open_while_speaking": hit, "shut_in_pauses": rest, "balanced_accuracy": 0.5 * (hit + rest),
                "mean_jaw_speaking": float(jaw[talking].mean()) if talking.any() else float("nan"),
                "mean_jaw_pauses": float(jaw[~talking].mean()) if (~talking).any() else float("nan")}
    return {"videos": [v.name for v in videos], "lipsync_mean_r": lipsync, "speech": {
        p.name: NON_ENGLISH.get(p.name, "en" if "_en" in p.name or "eng" in p.name else "de")
        for p in speech}, "activity": activity,
        "singing": "not measured: no singing recording ships in ../shared or in the installed packages "
                   "(searched site-packages and /usr/share for audio files: only ALSA's spoken channel tests)",
        "music": robustness.MUSIC}


def print_robustness(section: dict[str, Any]) -> None:
    conditions = list(next(iter(section["lipsync_mean_r"].values())))
    print(f"\n### Robustness: mean r on {', '.join(section['videos'])}\n")
    print("| animator | " + " | ".join(conditions) + " |")
    print("|---|" + "---|" * len(conditions))
    for name, row in section["lipsync_mean_r"].items():
        print(f"| {name} | " + " | ".join(f"{row[c]:+.3f}" for c in conditions) + " |")
    print(f"\nMusic: {section['music']}")
    files = list(section["speech"])
    print("\nMouth against speech activity (no video: open = JawOpen > "
          f"{OPEN_ABOVE}; balanced accuracy of open-while-speaking and shut-in-pauses; mean JawOpen speaking / "
          "pauses)\n")
    print("| animator | " + " | ".join(f"{f} ({section['speech'][f]})" for f in files) + " |")
    print("|---|" + "---|" * len(files))
    for name, row in section["activity"].items():
        print(f"| {name} | " + " | ".join(
            f"{row[f]['balanced_accuracy']:.2f} ({row[f]['mean_jaw_speaking']:.2f} / {row[f]['mean_jaw_pauses']:.2f})"
            for f in files) + " |")
    print(f"\nSinging: {section['singing']}.")


# ---------------------------------------------------------------- run


def conditions() -> dict[str, Any]:
    source = Path(facecast.__file__).resolve().parents[2]
    try:
        commit = subprocess.run(["git", "-C", str(source), "log", "-1", "--format=%h %s"], capture_output=True,
                                text=True, timeout=30).stdout.strip()
        dirty = bool(subprocess.run(["git", "-C", str(source), "status", "--porcelain", "--", "core"],
                                    capture_output=True, text=True, timeout=30).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "", False
    return {"facecast_source": str(source), "commit": commit, "uncommitted_core_changes": dirty,
            "python": sys.executable, "cpus": os.cpu_count(), "load_average_start": os.getloadavg(),
            "machine": platform.platform(), "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}


def parse_fold(text: str) -> tuple[Path, Path]:
    source, sep, model = text.partition("=")
    if not sep or not source or not model:
        raise argparse.ArgumentTypeError(f"--fold wants SOURCE=MODEL, not {text!r}")
    folder = Path(source) if Path(source).is_dir() else DATA / "train" / source
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"--fold: {source} is neither a folder nor a source in {DATA / 'train'}")
    if not Path(model).exists():
        raise argparse.ArgumentTypeError(f"--fold: no model at {model}")
    return folder, Path(model)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--animators", nargs="+", help="default: neural (when registered), phonetic, energy")
    parser.add_argument("--live", nargs="*", help="animators also run as live streams (20 ms chunks); default: "
                        "neural when registered, energy")
    parser.add_argument("--no-rhubarb", action="store_true", help="leave Rhubarb Lip Sync out")
    parser.add_argument("--neural-model", type=Path, help="model file for the neural animator (default: its own)")
    parser.add_argument("--videos", type=Path, nargs="+", default=[], help="other videos or folders to score")
    parser.add_argument("--fold", type=parse_fold, action="append", default=[], metavar="SOURCE=MODEL",
                        help="leave-one-source-out fold: score SOURCE's videos with neural loading MODEL")
    parser.add_argument("--fold-dir", type=Path, help="folds of `python -m facecast.train.loso --out DIR`: "
                        "every DIR/SOURCE/model/neural.onnx is a --fold SOURCE=that model")
    parser.add_argument("--fold-rhubarb", action="store_true", help="run Rhubarb on the folds' videos too (slow)")
    parser.add_argument("--per-source", type=int, default=10, help="videos per folder at most (default 10)")
    parser.add_argument("--grid", type=int, default=40, help="GRID s1 clips for closure recall (default 40)")
    parser.add_argument("--corpus", type=Path, help="existing corpus (default: build one in the cache)")
    parser.add_argument("--corpus-hours", type=float, default=0.4)
    parser.add_argument("--corpus-limit", type=int, default=40, help="held-out items (default 40)")
    parser.add_argument("--seeds", type=int, default=4, help="seeds for head-motion diversity (default 4)")
    parser.add_argument("--skip", nargs="+", default=[],
                        choices=["yardstick", "folds", "closures", "naturalness", "robustness"])
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "facecast-bench")
    parser.add_argument("--json", type=Path, default=ROOT / "out" / "bench_neural.json")
    parser.add_argument("--quick", action="store_true", help="a small run of every section (about a minute)")
    args = parser.parse_args()
    start = time.perf_counter()
    if args.fold_dir:
        models = sorted(args.fold_dir.glob("*/model/neural.onnx"))
        if not models:
            parser.error(f"--fold-dir: no */model/neural.onnx in {args.fold_dir}")
        try:
            args.fold += [parse_fold(f"{m.parents[1].name}={m}") for m in models]
        except argparse.ArgumentTypeError as e:
            parser.error(str(e))
    report: dict[str, Any] = {"conditions": conditions(), "fps": FPS, "quick": args.quick}
    if args.quick:
        args.grid, args.corpus_hours, args.corpus_limit, args.seeds = 2, 0.02, 4, 2
        args.per_source = min(args.per_source, 1)

    names = args.animators or (["neural"] if neural_available() else []) + ["phonetic", "energy"]
    if not args.animators and "neural" in names:
        try:  # registered, but its weights may not be there yet
            animator_contender("neural", args.neural_model)
        except Exception as e:  # reported, and the run goes on with the baselines
            print(f"(neural left out: {e})")
            names.remove("neural")
    live = args.live if args.live is not None else [n for n in names if n in ("neural", "energy")]
    contenders = [animator_contender(n, args.neural_model if n == "neural" else None) for n in names]
    contenders += [animator_contender(n, args.neural_model if n == "neural" else None, live=True) for n in live]
    binary = None if args.no_rhubarb else rhubarb.find_binary(ROOT)
    if binary is None and not args.no_rhubarb:
        report["rhubarb"] = "not found: run `make tools/node_modules/.installed` or set FACECAST_RHUBARB"
        print(f"(Rhubarb {report['rhubarb']})")
    with_rhubarb = contenders + ([rhubarb_contender(binary, args.cache)] if binary else [])
    every = [c.name for c in with_rhubarb]
    later = contenders if args.quick else with_rhubarb  # --quick: Rhubarb on the yardstick only
    report["animators"] = {c.name: c.info for c in with_rhubarb}
    c = report["conditions"]
    print(f"## bench_neural: facecast from {c['facecast_source']} ({c['commit']}), {c['cpus']} CPUs, "
          f"load average {c['load_average_start'][0]:.1f} at the start")

    all_videos = sorted((DATA / "video").glob("*.mp4"))
    yard = [v for v in all_videos if v.name == "retalking_face_3.mp4"] if args.quick else all_videos
    if "yardstick" not in args.skip and yard:
        report["yardstick"] = lipsync_rows(yard, with_rhubarb, args.cache)
        print_lipsync("Yardstick videos (../shared/data/video), r vs mouth_track.py", report["yardstick"], every)
    if args.videos:
        report["videos"] = lipsync_rows(list_videos(args.videos, args.per_source), later, args.cache)
        if len(report["videos"]["sources"]) > 1:
            print_sources(report["videos"])
        else:
            print_lipsync("Other videos", report["videos"], [c.name for c in later])
    if args.fold and "folds" not in args.skip:
        report["folds"] = {}
        for folder, model in args.fold:
            fold = [animator_contender("neural", model, whisper=False)] + [
                c for c in later if not c.name.startswith("neural") and (c.name != "rhubarb" or args.fold_rhubarb)]
            result = lipsync_rows(list_videos([folder], args.per_source), fold, args.cache)
            result["model"] = str(model)
            report["folds"][folder.name] = result
        print_folds(report["folds"])
    if "closures" not in args.skip:
        grid_contenders = later
        baselines = [c for c in later if not c.name.startswith("neural")]
        grid_fold = [m for f, m in args.fold if f.name == "grid_s1"]
        if grid_fold:  # a model that never saw grid_s1
            grid_contenders = [animator_contender("neural", grid_fold[0])] + baselines
        report["grid"] = grid_section(grid_contenders, args.grid)
        report["grid"]["neural_model"] = str(grid_fold[0]) if grid_fold else "default"
        report["corpus"] = corpus_section(later, args.corpus, args.corpus_hours, args.corpus_limit, args.cache)
        print_closures(report["grid"], report["corpus"], [c.name for c in later])
    if "naturalness" not in args.skip and yard:
        report["naturalness"] = naturalness_section(yard, contenders, args.seeds, args.cache)
        print_naturalness(report["naturalness"])
    if "robustness" not in args.skip:
        robust = [v for v in all_videos if v.name in HONEST_VIDEOS][:1 if args.quick else None]
        speech = [ROOT / "assets" / "speech_de.wav"]
        if not args.quick:
            speech = [ROOT / "assets" / "speech_en.wav"] + speech + [
                DATA / "speech" / n for n in NON_ENGLISH if (DATA / "speech" / n).is_file()]
            unique = {yardstick.file_key(p): p for p in reversed(speech)}  # speech_de.wav is sadtalker_deyu.wav
            speech = [p for p in speech if p in unique.values()]
        kinds = ("clean", "noise 0 dB", "music 5 dB") if args.quick else \
            ("clean", "noise 10 dB", "noise 0 dB", "music 5 dB")
        report["robustness"] = robustness_section(robust, later, speech, args.cache, kinds)
        print_robustness(report["robustness"])
    report["conditions"]["load_average_end"] = os.getloadavg()
    report["conditions"]["wall_s"] = time.perf_counter() - start
    print(f"\nWall time {report['conditions']['wall_s']:.0f} s; load average at the end "
          f"{report['conditions']['load_average_end'][0]:.1f} on {c['cpus']} CPUs.")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.json, json.dumps(report, indent=1, default=float))
    print(f"figures written to {args.json}")


def print_sources(result: dict[str, Any]) -> None:
    names = list(result["summary"])
    print("\n### Other videos, per source folder (mean r at lag 0 over its clips; ± sd over clips)\n")
    print("| source | clips | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for source, s in result["sources"].items():
        print(f"| {source} | {s[names[0]]['clips']} | " + " | ".join(
            f"{s[n]['mean_r']:+.3f} ± {s[n]['std_r']:.3f}" for n in names) + " |")
    means = [np.mean([s[n]["mean_r"] for s in result["sources"].values()]) for n in names]
    print("| **mean over sources** | | " + " | ".join(f"**{m:+.3f}**" for m in means) + " |")


def print_folds(folds: dict[str, Any]) -> None:
    names = list(next(iter(folds.values()))["summary"])
    print("\n### Leave-one-source-out folds (neural loads each fold's model; mean r at lag 0 over the source's "
          "clips)\n")
    print("| held-out source | clips | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    for source, fold in folds.items():
        s = fold["summary"]
        print(f"| {source} | {s[names[0]]['clips']} | " + " | ".join(f"{s[n]['mean_r']:+.3f}" for n in names) + " |")
    print("| **mean over folds** | | " + " | ".join(
        f"**{np.mean([f['summary'][n]['mean_r'] for f in folds.values()]):+.3f}**" for n in names) + " |")


if __name__ == "__main__":
    main()
