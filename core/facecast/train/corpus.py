"""The synthetic speech corpus: TTS voices speaking generated sentences, with exact phone timings and the
phonetic animator's curves for them (the teacher), in ``.npz`` shards with a ``manifest.json``.

Item ``i`` depends only on ``(seed, i)``, so a corpus is reproducible under its seed whatever the number of
worker processes. Voices are split, not items: :func:`held_out_voices` are never used for training.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from facecast.animators.phonetic import PhoneticAnimator
from facecast.audio import MODEL_RATE, Audio, resample
from facecast.controls import Controls
from facecast.errors import InvalidInput, reason
from facecast.fileio import atomic_path, atomic_write_text
from facecast.phonemes import Phone
from facecast.phonemes.inventory import PHONE_ID, PHONES
from facecast.phonemes.tts import Voice, synthesize, voices
from facecast.train.augment import augment
from facecast.train.sentences import english_sentence, pseudo_sentence

CORPUS_FORMAT, CORPUS_VERSION = "facecast.corpus", 1
ITEMS_PER_SHARD = 48
HELD_OUT_SHARE = 0.12
FPS = 30
MEAN_ITEM_SECONDS = 3.0  # a first guess of how many shards to start; building stops at the hours asked for


@dataclass
class CorpusItem:
    """One utterance: 16 kHz audio, its exact phones, the teacher's motion [T, 61] and how it was made."""

    audio: np.ndarray
    phones: list[Phone]
    motion: np.ndarray
    info: dict[str, Any]


def held_out_voices(all_voices: tuple[Voice, ...], seed: int) -> set[str]:
    """Voice ids kept out of training: a seeded share of each engine's voices (at least one per engine)."""
    rng = np.random.default_rng([seed, 7])
    held: set[str] = set()
    for engine in sorted({v.engine for v in all_voices}):
        ids = sorted(v.id for v in all_voices if v.engine == engine)
        count = max(1, round(HELD_OUT_SHARE * len(ids)))
        held.update(rng.choice(ids, size=count, replace=False).tolist())
    return held


def make_item(seed: int, index: int, all_voices: tuple[Voice, ...], held_out: set[str]) -> CorpusItem:
    """Item ``index`` of the corpus with ``seed``: voice, sentence, prosody and degradations drawn from both."""
    rng = np.random.default_rng([seed, index])
    voice = all_voices[rng.integers(len(all_voices))]
    text = english_sentence(rng) if voice.language == "en" else pseudo_sentence(rng)
    rate, pitch = float(rng.uniform(0.75, 1.35)), float(rng.uniform(0.75, 1.35))
    speech = synthesize(voice, text, rate=rate, pitch=pitch)
    degraded, settings = augment(speech.samples, speech.sample_rate, rng)
    audio = np.clip(resample(degraded, speech.sample_rate, MODEL_RATE), -1, 1)
    controls = Controls(seed=int(rng.integers(2**31)))
    clip = PhoneticAnimator().animate(Audio(audio, MODEL_RATE), controls, FPS, phones=speech.phones)
    info = {"voice": voice.id, "engine": voice.engine, "language": voice.language, "text": text,
            "split": "heldout" if voice.id in held_out else "train", "rate": rate, "pitch": pitch,
            "augment": settings, "duration": len(audio) / MODEL_RATE, "seed": controls.seed}
    return CorpusItem(audio.astype(np.float32), speech.phones, clip.values, info)


def _build_shard(job: tuple[str, int, int, list[str], set[str]]) -> list[dict[str, Any]]:
    out_dir, seed, shard, voice_ids, held_out = job
    by_id = {v.id: v for v in voices()}
    all_voices = tuple(by_id[i] for i in voice_ids)
    items = [make_item(seed, shard * ITEMS_PER_SHARD + k, all_voices, held_out) for k in range(ITEMS_PER_SHARD)]
    write_shard(Path(out_dir) / shard_name(shard), items)
    return [{**it.info, "id": shard * ITEMS_PER_SHARD + k, "shard": shard_name(shard), "index": k}
            for k, it in enumerate(items)]


def shard_name(shard: int) -> str:
    return f"shard-{shard:05d}.npz"


def write_shard(path: Path, items: list[CorpusItem]) -> None:
    """Store items in one ``.npz``: concatenated arrays with offsets (audio as int16, motion as float16)."""
    def offsets(lengths: list[int]) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)

    arrays = {
        "audio": np.concatenate([np.round(it.audio * 32767).astype(np.int16) for it in items]),
        "audio_offsets": offsets([len(it.audio) for it in items]),
        "phone_ids": np.array([PHONE_ID[p.symbol] for it in items for p in it.phones], np.uint8),
        "phone_times": np.array([(p.start, p.end) for it in items for p in it.phones], np.float32).reshape(-1, 2),
        "phone_offsets": offsets([len(it.phones) for it in items]),
        "motion": np.concatenate([it.motion.astype(np.float16) for it in items]),
        "motion_offsets": offsets([len(it.motion) for it in items]),
    }
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(buffer.getvalue())


def load_item(corpus_dir: str | os.PathLike[str], entry: dict[str, Any]) -> CorpusItem:
    """Read one manifest entry's audio, phones and teacher motion back."""
    return load_items(corpus_dir, [entry])[0]


def load_items(corpus_dir: str | os.PathLike[str], entries: list[dict[str, Any]]) -> list[CorpusItem]:
    """Read many manifest entries back, in their order, opening each shard once."""
    items: list[CorpusItem | None] = [None] * len(entries)
    by_shard: dict[str, list[int]] = {}
    for n, entry in enumerate(entries):
        by_shard.setdefault(entry["shard"], []).append(n)
    for name, wanted in by_shard.items():
        with np.load(Path(corpus_dir) / name) as loaded:
            shard = {key: loaded[key] for key in loaded.files}
        for n in wanted:
            k = entries[n]["index"]
            a0, a1 = shard["audio_offsets"][k:k + 2]
            p0, p1 = shard["phone_offsets"][k:k + 2]
            m0, m1 = shard["motion_offsets"][k:k + 2]
            phones = [Phone(PHONES[i], float(s), float(e))
                      for i, (s, e) in zip(shard["phone_ids"][p0:p1], shard["phone_times"][p0:p1])]
            items[n] = CorpusItem(shard["audio"][a0:a1].astype(np.float32) / 32767, phones,
                                  shard["motion"][m0:m1].astype(np.float32), entries[n])
    return [item for item in items if item is not None]


def concatenate_items(items: list[CorpusItem]) -> CorpusItem:
    """Items played back to back as one item (phones shifted; teacher motion concatenated)."""
    phones, offset = [], 0.0
    for item in items:
        phones += [Phone(p.symbol, p.start + offset, p.end + offset) for p in item.phones]
        offset += len(item.audio) / MODEL_RATE
    info = {"text": " ".join(i.info["text"] for i in items), "language": items[0].info["language"] if items else "en",
            "duration": offset, "seed": 0}
    return CorpusItem(np.concatenate([i.audio for i in items]) if items else np.zeros(0, np.float32), phones,
                      np.concatenate([i.motion for i in items]) if items else np.zeros((0, 61), np.float32), info)


def load_manifest(corpus_dir: str | os.PathLike[str]) -> dict[str, Any]:
    path = Path(corpus_dir) / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise InvalidInput(f"{path} is not a readable corpus manifest: {reason(e)}") from None
    if manifest.get("format") != CORPUS_FORMAT or manifest.get("version") != CORPUS_VERSION:
        raise InvalidInput(f"{path} is not a facecast corpus manifest of version {CORPUS_VERSION}")
    return manifest


def build_corpus(out_dir: str | os.PathLike[str], hours: float, seed: int = 0, jobs: int = 1,
                 progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    """Build shards until they hold ``hours`` of audio; write ``manifest.json`` last. ``progress`` gets the
    seconds of audio built after each shard."""
    if not hours > 0:
        raise InvalidInput(f"--hours must be positive, not {hours}")
    all_voices = voices()
    if not all_voices:
        raise InvalidInput("no TTS voice is installed (apt-get install espeak-ng flite festival)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    held_out = held_out_voices(all_voices, seed)
    voice_ids = [v.id for v in all_voices]
    target = hours * 3600
    entries: list[dict[str, Any]] = []
    total, next_shard = 0.0, 0
    context = get_context("fork") if hasattr(os, "fork") else get_context()
    # A fresh process per shard: espeak-ng carries state (its waveform phase) from one utterance to the next,
    # so a shard is reproducible only when it is always built from the same start.
    with context.Pool(max(1, jobs), maxtasksperchild=1) as pool:
        while total < target:
            # Shards needed at the current mean item length; whole shards in order keep the seed reproducible.
            mean = total / len(entries) if entries else MEAN_ITEM_SECONDS
            wanted = max(1, int(np.ceil((target - total) / (mean * ITEMS_PER_SHARD))))
            jobs_now = [(str(out), seed, next_shard + k, voice_ids, held_out) for k in range(wanted)]
            for shard_entries in pool.imap(_build_shard, jobs_now):
                next_shard += 1
                if total >= target:
                    os.unlink(out / shard_entries[0]["shard"])  # built ahead but not needed
                    continue
                entries += shard_entries
                total += sum(e["duration"] for e in shard_entries)
                if progress:
                    progress(total)
    manifest = {
        "format": CORPUS_FORMAT, "version": CORPUS_VERSION, "seed": seed, "fps": FPS, "sample_rate": MODEL_RATE,
        "hours": total / 3600, "phones": list(PHONES),
        "voices": voice_ids, "heldout_voices": sorted(held_out),
        "items": entries,
    }
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=1))
    return manifest
