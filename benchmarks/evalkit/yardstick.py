"""The independent mouth tracker of ``../shared/tools/mouth_track.py`` (the same code ``lipsync_check.py``
runs), and what it sees in a video, interpolated to animation frames. Results are cached per video.

The tracker needs ``face_landmark.tflite`` from the mediapipe 0.10.21 wheel: the copy
``../shared/tools/setup.sh`` extracts (``~/.cache/facecast-check``) when it exists, else the identical file
facecast ships (``core/facecast/models/face``, extracted from the same wheel by ``scripts/fetch_face_models.sh``).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
from pathlib import Path
from types import ModuleType

import numpy as np

from facecast.audio import MODEL_RATE
from facecast.train.evaluate import lipsync_r

ROOT = Path(__file__).resolve().parents[2]
# ../shared beside the checkout; a worktree elsewhere names it with FACECAST_SHARED_DATA (as the tests do)
DATA = Path(os.environ.get("FACECAST_SHARED_DATA", ROOT.parent / "shared" / "data"))
TOOLS = DATA.parent / "tools"


def model_file() -> Path:
    kit = Path(os.environ.get("FACECAST_CHECK_HOME", Path.home() / ".cache" / "facecast-check"))
    if (kit / "face_landmark.tflite").is_file():
        return kit / "face_landmark.tflite"
    from facecast.face.runtime import MODEL_DIR

    return Path(MODEL_DIR) / "face_landmark.tflite"


def _tracker_module() -> ModuleType:
    if not (TOOLS / "mouth_track.py").is_file():
        raise FileNotFoundError(f"the yardstick tracker {TOOLS / 'mouth_track.py'} is not here")
    os.environ.setdefault("FACECAST_CHECK_HOME", str(model_file().parent))
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))
    return importlib.import_module("mouth_track")


def file_key(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:24]


def tracked_opening(video: Path, cache: Path) -> tuple[float, np.ndarray]:
    """(video fps, mouth opening per video frame; NaN where no face was found), from the cache if there."""
    cached = cache / f"mouth_track_{file_key(video)}.npz"
    if cached.is_file():
        data = np.load(cached)
        return float(data["fps"]), data["opening"]
    fps, opening = _tracker_module().mouth_opening(str(video))
    cache.mkdir(parents=True, exist_ok=True)
    part = cached.with_suffix(".part.npz")
    np.savez(part, fps=fps, opening=opening)
    os.replace(part, cached)
    return float(fps), np.asarray(opening)


def truth_at(fps_video: float, opening: np.ndarray, fps: int, frames: int) -> np.ndarray:
    """The tracked opening at animation frame times ``k / fps`` (linear interpolation over found frames), as
    ``lipsync_check.py`` does."""
    ok = np.isfinite(opening)
    if ok.sum() < 2:
        return np.full(frames, np.nan)
    return np.interp(np.arange(frames) / fps, (np.arange(len(opening)) / fps_video)[ok], opening[ok])


def truth_for(video: Path, samples: int, fps: int, cache: Path) -> np.ndarray:
    """The tracked opening of ``video`` at the animation frames of its sound track (``samples`` long at the
    model's rate): what an animator's take of that sound is scored against."""
    fps_video, opening = tracked_opening(video, cache)
    return truth_at(fps_video, opening, fps, int(np.ceil(samples * fps / MODEL_RATE)))


def lipsync(jaw: np.ndarray, truth: np.ndarray) -> tuple[float, float, int]:
    """(r at lag 0, best r within ±5 frames, its lag; positive = the prediction is late)."""
    n = min(len(jaw), len(truth))
    return lipsync_r(np.asarray(jaw[:n], float), np.asarray(truth[:n], float))
