"""The paired training set: real talking videos captured into (16 kHz audio, 61-channel curves) examples.

``build_dataset(video_root, out_dir)`` walks ``video_root/<source>/*.mp4`` (``../shared/data/train``), captures
each video once (cached as ``out_dir/clips/<source>/<stem>.npz``, keyed by the file's size and capture
version), then

- measures each clip's audio/video offset: the lag (within ±``MAX_LAG`` frames) at which the captured mouth
  opening best follows the audio's loudness; an origin (a source folder, or one repository's clips in ``misc``)
  whose confident clips agree on a lag of at least ``MIN_CORRECTED_LAG`` frames is corrected by that lag
  (styletalk's sound trails its picture by 3-5 frames); other sources are kept as they are (loudness is a
  weak cue for many voices, so one clip's peak is no proof);
- checks quality: a clip shorter than ``MIN_SECONDS`` or with a face in fewer than ``MIN_FACE_SHARE`` of its
  frames is left out, with the reason in the manifest;
- marks bilabial closures (/p b m/) from the GRID word alignments (``grid_s1_align``) and the CMU dictionary
  that pocketsphinx ships, because capture reads a shut mouth as slightly open;
- writes ``examples.npz``: the used clips' audio and offset-corrected curves, closures and measured lip gap
  (inner-lip gap over inter-ocular distance, the geometric mouth opening the lip-sync yardstick measures);
- writes ``manifest.json``: one entry per clip (source, speaker, split, offset, quality) and the splits, which
  are speaker- and source-disjoint (``VALIDATION_SPEAKERS``).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facecast.audio import MODEL_RATE, resample
from facecast.errors import InvalidInput
from facecast.fileio import atomic_path, atomic_write_text
from facecast.motion import CHANNEL_INDEX

DATASET_VERSION = "1"
MAX_LAG = 6  # frames searched each way for the audio/video offset
MIN_CORRECTED_LAG = 2  # a source's median lag below this is taken as "in sync"
MIN_LAG_CONFIDENCE = 0.25  # a clip's peak correlation must reach this to vote on its source's offset
MIN_SECONDS = 1.5
MIN_FACE_SHARE = 0.9
GRID_ALIGN_UNIT = 25_000.0  # grid_s1_align times are in 1/25000 s
GRID_SILENCES = ("sil", "sp")  # the alignments' words for a pause
BILABIALS = ("P", "B", "M")
# Speakers kept for validation (never trained on): whole speakers from several sources.
VALIDATION_SPEAKERS = ("grid_other:lbax4n", "grid_other:swiz3n", "voxceleb2_pcavs:Input_00010",
                       "voxceleb2_pcavs:Audio_Source_00086", "styletalk:feifeili", "misc:latentsync_demo3")


@dataclass
class ClipEntry:
    """One clip of the manifest."""

    id: str
    source: str
    speaker: str
    origin: str
    file: str  # the cached npz, relative to the dataset folder
    seconds: float
    fps: int
    split: str = "train"
    measured_lag: int = 0  # frames; positive = the mouth moves before the sound (the audio trails)
    lag_confidence: float = 0.0
    applied_shift: int = 0
    has_closures: bool = False
    excluded: str = ""  # why the clip is left out, empty when it is used
    extra: dict[str, Any] = field(default_factory=dict)


def speaker_of(source: str, stem: str) -> str:
    """The speaker id of a clip: one speaker for grid_s1, the name prefix for styletalk, the clip elsewhere."""
    if source == "grid_s1":
        return "grid_s1:s1"
    if source == "styletalk":
        for name in ("andrew", "feifeili", "KristiNoem", "reagan"):
            if stem.startswith(name):
                return f"styletalk:{name}"
    return f"{source}:{stem}"  # VoxCeleb2 crops, GRID's other speakers, misc: one person per clip


def origin_of(source: str, stem: str) -> str:
    """The recording setup a clip comes from, which shares one audio/video offset: the source folder, or for
    ``misc`` (clips of several repositories) the repository's prefix of the file name."""
    return f"misc:{stem.split('_')[0]}" if source == "misc" else source


def capture_clip(video: Path, cache: Path, threads: int = 1) -> dict[str, np.ndarray]:
    """Capture ``video`` into ``cache`` (npz) unless a capture of the same file is already there."""
    key = f"{DATASET_VERSION}:{video.stat().st_size}"
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as data:
            if str(data["key"]) == key:
                return dict(data)
    from facecast.face.capture import capture_video

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        take = capture_video(video, progress=False, threads=threads)
    if take.audio is None:
        raise InvalidInput(f"{video} has no sound")
    pcm = resample(take.audio.samples, take.audio.sample_rate, MODEL_RATE)
    arrays = {
        "key": np.array(key),
        "audio": (np.clip(pcm, -1, 1) * 32767).round().astype(np.int16),
        "fps": np.array(take.clip.fps),
        "values": take.clip.values.astype(np.float32),
        "translation": np.asarray(take.clip.head_translation, np.float32),
        "opening": take.mouth_opening.astype(np.float32),
        "face_share": np.array(float(take.clip.metadata.get("face_found_share", 1.0))),
    }
    cache.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(cache) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
    return arrays


def loudness(audio: np.ndarray, fps: int, frames: int) -> np.ndarray:
    """Log RMS of int16/float ``audio`` (16 kHz) per video frame, [frames]."""
    x = audio.astype(np.float32) / (32767.0 if audio.dtype == np.int16 else 1.0)
    hop = MODEL_RATE / fps
    out = np.full(frames, -10.0, np.float32)
    for i in range(frames):
        seg = x[int(i * hop):int((i + 1) * hop)]
        if len(seg):
            out[i] = np.log(np.sqrt(np.mean(seg**2)) + 1e-4)
    return out


def measure_lag(audio: np.ndarray, jaw: np.ndarray, fps: int) -> tuple[int, float]:
    """The lag (frames) maximising corr(loudness[t + lag], jaw[t]) and that correlation."""
    loud = loudness(audio, fps, len(jaw))
    best, best_r = 0, -2.0
    for lag in range(-MAX_LAG, MAX_LAG + 1):
        a = loud[max(lag, 0):len(loud) + min(lag, 0)]
        b = jaw[max(-lag, 0):len(jaw) + min(-lag, 0)]
        if len(a) > 10 and a.std() > 0 and b.std() > 0:
            r = float(np.corrcoef(a, b)[0, 1])
            if r > best_r:
                best, best_r = lag, r
    return best, best_r


def shift_curves(values: np.ndarray, shift: int) -> np.ndarray:
    """Curves delayed by ``shift`` frames (positive: later), edge frames held."""
    if shift == 0:
        return values
    index = np.clip(np.arange(len(values)) - shift, 0, len(values) - 1)
    return values[index]


def grid_words(align_file: Path) -> list[tuple[float, float, str]]:
    """(start, end, word) of each ``start end word`` line of a GRID word alignment, times in its units
    (:data:`GRID_ALIGN_UNIT` per second), the silences (:data:`GRID_SILENCES`) included."""
    lines = [line.split() for line in align_file.read_text().split("\n")]
    return [(float(parts[0]), float(parts[1]), parts[2]) for parts in lines if len(parts) == 3]


def grid_closures(align_file: Path, fps: int, frames: int, lookup: Callable[[str], str | None]) -> np.ndarray:
    """1 in the frames of a /p b m/, 0 elsewhere, from a GRID word alignment; each word's phones share its
    duration in proportion (vowels count double), which places word-initial closures exactly."""
    closure = np.zeros(frames, np.float32)
    for first, last, word in grid_words(align_file):
        if word in GRID_SILENCES:
            continue
        start, end = first / GRID_ALIGN_UNIT, last / GRID_ALIGN_UNIT
        phones = (lookup(word) or "").split()
        if not phones:
            continue
        weights = np.array([2.0 if p[0] in "AEIOU" else 1.0 for p in phones])
        edges = start + (end - start) * np.concatenate([[0], np.cumsum(weights) / weights.sum()])
        for p, a, b in zip(phones, edges[:-1], edges[1:]):
            if p in BILABIALS:
                closure[max(int(np.floor(a * fps)), 0):min(int(np.ceil(b * fps)), frames)] = 1.0
    return closure


def _cmudict_lookup() -> Callable[[str], str | None]:
    from facecast.phonemes.pocketsphinx_model import alignment_decoder

    decoder = alignment_decoder().decoder
    return lambda word: decoder.lookup_word(word.lower())


def build_dataset(video_root: Path, out_dir: Path, threads: int = 1,
                  log: Callable[[str], None] = print, limit: int | None = None,
                  offsets: dict[str, int] | None = None) -> dict[str, Any]:
    """Capture, check and split every video under ``video_root``; write and return the manifest. ``offsets``
    (origin: frames, positive: the sound trails the picture) replace the measured offsets of those origins, for
    offsets measured another way (docs/NEURAL.md: by the speech's content)."""
    if not video_root.is_dir():
        raise InvalidInput(f"no training videos: {video_root} is not a folder")
    sources = sorted(p for p in video_root.iterdir() if p.is_dir() and not p.name.endswith("_align"))
    videos = [(s.name, v) for s in sources for v in sorted(s.glob("*.mp4"))][:limit]
    if not videos:
        raise InvalidInput(f"no .mp4 videos in the folders of {video_root}")
    offsets = offsets or {}
    origins = {origin_of(source, video.stem) for source, video in videos}
    unknown = sorted(set(offsets) - origins)
    if unknown:  # before the slow captures
        raise InvalidInput(f"offset for {', '.join(unknown)}: no such origin among the videos (they are "
                           f"{', '.join(sorted(origins))})")
    lookup = _cmudict_lookup()
    entries: list[ClipEntry] = []
    arrays: dict[str, dict[str, np.ndarray]] = {}
    for n, (source, video) in enumerate(videos):
        cache = out_dir / "clips" / source / f"{video.stem}.npz"
        entry = ClipEntry(id=f"{source}/{video.stem}", source=source, speaker=speaker_of(source, video.stem),
                          origin=origin_of(source, video.stem),
                          file=str(cache.relative_to(out_dir)), seconds=0.0, fps=0)
        try:
            data = capture_clip(video, cache, threads)
        except InvalidInput as e:
            entry.excluded = f"capture failed: {e}"
            entries.append(entry)
            continue
        entry.fps, entry.seconds = int(data["fps"]), len(data["audio"]) / MODEL_RATE
        jaw = data["values"][:, CHANNEL_INDEX["JawOpen"]]
        entry.measured_lag, entry.lag_confidence = measure_lag(data["audio"], jaw, entry.fps)
        if entry.seconds < MIN_SECONDS:
            entry.excluded = f"too short ({entry.seconds:.1f} s)"
        elif float(data["face_share"]) < MIN_FACE_SHARE:
            entry.excluded = f"face found in only {float(data['face_share']):.0%} of frames"
        align = video_root / f"{source}_align" / f"{video.stem}.align"
        if align.is_file():
            entry.has_closures = True
            data["closure"] = grid_closures(align, entry.fps, len(jaw), lookup)
        entries.append(entry)
        arrays[entry.id] = data
        if n % 50 == 0 or n == len(videos) - 1:
            log(f"[{n + 1}/{len(videos)}] {entry.id}: {entry.seconds:.1f} s, lag {entry.measured_lag:+d} "
                f"(r {entry.lag_confidence:.2f}) {entry.excluded}")
    measured = source_offsets(entries)
    chosen = {**measured, **offsets}
    for entry in entries:
        entry.applied_shift = chosen.get(entry.origin, 0)
        entry.split = "validation" if entry.speaker in VALIDATION_SPEAKERS else "train"
    _write_examples(out_dir, entries, arrays)
    manifest = {"format": "facecast.dataset", "version": DATASET_VERSION, "video_root": str(video_root),
                "source_offsets": chosen, "measured_offsets": measured, "offsets_given": offsets,
                "clips": [asdict(e) for e in entries]}
    atomic_write_text(out_dir / "manifest.json", json.dumps(manifest, indent=1))
    used = [e for e in entries if not e.excluded]
    log(f"{len(used)} clips used ({sum(e.seconds for e in used) / 60:.1f} min), "
        f"{len(entries) - len(used)} left out; offsets per source (frames): {chosen}"
        + (f" (given: {offsets}, measured: {measured})" if offsets else ""))
    return manifest


def source_offsets(entries: list[ClipEntry]) -> dict[str, int]:
    """Per origin, the median lag of its confident clips when it is at least ``MIN_CORRECTED_LAG``, else 0."""
    offsets: dict[str, int] = {}
    for origin in sorted({e.origin for e in entries}):
        lags = [e.measured_lag for e in entries
                if e.origin == origin and not e.excluded and e.lag_confidence >= MIN_LAG_CONFIDENCE]
        median = int(np.round(np.median(lags))) if lags else 0
        offsets[origin] = median if abs(median) >= MIN_CORRECTED_LAG else 0
    return offsets


def _write_examples(out_dir: Path, entries: list[ClipEntry], arrays: dict[str, dict[str, np.ndarray]]) -> None:
    """One ``examples.npz``: every used clip's audio and offset-corrected targets, concatenated, with index."""
    audio, values, translation, closure, opening, index = [], [], [], [], [], []
    a_at = v_at = 0
    for entry in entries:
        if entry.excluded:
            continue
        data = arrays[entry.id]
        v = shift_curves(data["values"], entry.applied_shift)  # the sound trailed the mouth: move it later
        t = shift_curves(data["translation"], entry.applied_shift)
        c = data.get("closure", np.full(len(v), np.nan, np.float32))
        gap = data.get("opening", data["values"][:, CHANNEL_INDEX["JawOpen"]])
        opening.append(shift_curves(fill_gaps(gap[:len(v)]), entry.applied_shift))
        audio.append(data["audio"])
        values.append(v)
        translation.append(t)
        closure.append(c)
        index.append((a_at, len(data["audio"]), v_at, len(v), entry.fps))
        a_at += len(data["audio"])
        v_at += len(v)
    with atomic_path(out_dir / "examples.npz") as tmp, open(tmp, "wb") as f:
        np.savez(f, audio=np.concatenate(audio), values=np.concatenate(values),
                 translation=np.concatenate(translation), closure=np.concatenate(closure),
                 opening=np.concatenate(opening).astype(np.float32), index=np.array(index, np.int64),
                 ids=np.array([e.id for e in entries if not e.excluded]))


def lip_gaps(examples: Any) -> np.ndarray:
    """The per-frame lip gaps of an open ``examples.npz``, aligned with its ``values``; a dataset built before
    they were stored has the captured JawOpen in their place."""
    if "opening" in examples.files:
        return np.asarray(examples["opening"])
    return np.asarray(examples["values"][:, CHANNEL_INDEX["JawOpen"]])


def fill_gaps(values: np.ndarray) -> np.ndarray:
    """A per-frame measure [T] with its NaN frames (no face found) filled linearly from their neighbours
    (all zeros when no frame has a value)."""
    known = np.isfinite(values)
    if known.all():
        return values
    if not known.any():
        return np.zeros_like(values)
    frames = np.arange(len(values))
    return np.interp(frames, frames[known], values[known]).astype(values.dtype)


def default_dataset_dir() -> Path:
    return Path(os.environ.get("FACECAST_DATASET", Path.home() / ".cache" / "facecast" / "dataset"))
