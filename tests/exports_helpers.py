"""Shared helpers for the export tests: a deterministic take and the Khronos glTF validator."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from facecast.motion import BLENDSHAPES, CHANNEL_INDEX, NUM_CHANNELS, MotionClip

ROOT = Path(__file__).resolve().parents[1]
VALIDATOR = ROOT / "tools" / "node_modules" / "gltf-validator"
THREE = ROOT / "tools" / "node_modules" / "three"


def sample_clip(frames: int = 90, fps: int = 30) -> MotionClip:
    """A take where every channel moves differently: smooth sines of distinct frequency and phase."""
    t = np.arange(frames)[:, None] / fps
    k = np.arange(NUM_CHANNELS)[None, :]
    values = 0.5 + 0.45 * np.sin(2 * np.pi * (0.3 + 0.05 * k) * t + k)
    values[:, len(BLENDSHAPES):] = 0.3 * np.sin(2 * np.pi * 0.4 * t + k[:, len(BLENDSHAPES):])  # radians
    return MotionClip(fps, values.astype(np.float32), metadata={"animator": "test"})


@functools.lru_cache(maxsize=1)
def speech_clip() -> MotionClip:
    """A real take: the energy animator on the shipped English speech sample (8 s)."""
    import facecast

    return facecast.animate(ROOT / "assets" / "speech_en.wav", animator="energy", seed=1)


def weights_matrix(clip: MotionClip, names: list[str]) -> np.ndarray:
    return clip.values[:, [CHANNEL_INDEX[n] for n in names]]


def node_tool(script: str, package: Path, *args: str) -> str:
    """Run ``tools/<script>`` with node and return its stdout; skips when node or the npm package is missing."""
    node = shutil.which("node")
    if node is None or not package.is_dir():
        pytest.skip(f"{package.name} is not installed: run `npm install` in tools/ (needs node)")
    done = subprocess.run([node, str(ROOT / "tools" / script), *args], capture_output=True, text=True,
                          timeout=120, check=True)
    return done.stdout


def validate_gltf(path: Path) -> dict:
    """The Khronos validator's report for ``path``; skips when the validator is not installed."""
    return json.loads(node_tool("gltf_validate.js", VALIDATOR, str(path)))
