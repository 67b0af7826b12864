"""Motion as JSON: readable by anything, one list of 61 values per frame in the contract's channel order."""

from __future__ import annotations

import json
import os

import numpy as np

from facecast.errors import InvalidInput, reason
from facecast.fileio import atomic_write_text
from facecast.motion import CHANNELS, MotionClip

JSON_FORMAT = "facecast.motion+json"
JSON_VERSION = 1


def clip_to_json(clip: MotionClip) -> str:
    return json.dumps({
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "fps": clip.fps,
        "channels": list(CHANNELS),
        "units": {"blendshapes": "0..1", "angles": "radians", "head_translation": "metres"},
        "frames": np.round(clip.values.astype(np.float64), 6).tolist(),
        "head_translation": np.round(clip.head_translation.astype(np.float64), 6).tolist(),
        "metadata": clip.metadata,
    }, separators=(",", ":"))


def write_json(clip: MotionClip, path: str | os.PathLike[str]) -> None:
    atomic_write_text(path, clip_to_json(clip))


def read_json(path: str | os.PathLike[str]) -> MotionClip:
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        raise InvalidInput(f"cannot read JSON take {os.fspath(path)}: {reason(e)}") from None
    if not isinstance(doc, dict) or doc.get("format") != JSON_FORMAT or doc.get("version") != JSON_VERSION:
        raise InvalidInput(f"{os.fspath(path)} is not a facecast JSON take (version {JSON_VERSION})")
    if doc.get("channels") != list(CHANNELS):
        raise InvalidInput(f"{os.fspath(path)} has channels that differ from the motion contract")
    try:
        values = np.asarray(doc["frames"], np.float32).reshape(-1, len(CHANNELS))
        trans = np.asarray(doc.get("head_translation") or np.zeros((len(values), 3)), np.float32).reshape(-1, 3)
    except (KeyError, ValueError, TypeError):
        raise InvalidInput(f"{os.fspath(path)} has frames of the wrong shape") from None
    return MotionClip(int(doc.get("fps", 0)), values, trans, dict(doc.get("metadata") or {}))
