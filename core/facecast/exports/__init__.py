"""Writing and reading takes. The format comes from the file extension.

Writers and readers are registered by extension; other modules (video, glTF, USD) add theirs here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from facecast.errors import InvalidInput
from facecast.exports.fbx import write_fbx
from facecast.exports.gltf import write_gltf
from facecast.exports.json_clip import read_json, write_json
from facecast.exports.livelink_csv import read_csv, write_csv
from facecast.exports.rhubarb import write_rhubarb_json, write_rhubarb_tsv, write_rhubarb_xml
from facecast.exports.usd import write_usd
from facecast.exports.video import write_mp4
from facecast.motion import MotionClip, load_fcclip, save_fcclip

Writer = Callable[..., None]
Reader = Callable[[str], MotionClip]

WRITERS: dict[str, Writer] = {
    ".csv": write_csv,
    ".json": write_json,
    ".fcclip": save_fcclip,
    ".glb": write_gltf,
    ".gltf": write_gltf,
    ".usda": write_usd,
    ".usdc": write_usd,
    ".fbx": write_fbx,
    ".mp4": write_mp4,
    ".tsv": write_rhubarb_tsv,  # Rhubarb Lip Sync mouth cues (A-H, X)
    ".xml": write_rhubarb_xml,
    ".rhubarb.json": write_rhubarb_json,
}
READERS: dict[str, Reader] = {
    ".csv": read_csv,
    ".json": read_json,
    ".fcclip": load_fcclip,
}


def _extension(path: str | os.PathLike[str], table: dict[str, Any], verb: str) -> str:
    name = os.path.basename(os.fspath(path)).lower()
    ext = next((e for e in table if e.count(".") > 1 and name.endswith(e) and len(name) > len(e)),
               os.path.splitext(name)[1])  # a double extension (.rhubarb.json) first
    if ext not in table:
        raise InvalidInput(f"cannot {verb} {ext or 'files without an extension'}: use one of {', '.join(table)}")
    return ext


def export(clip: MotionClip, path: str | os.PathLike[str], **options: Any) -> None:
    """Write ``clip`` to ``path`` in the format its extension names; the file appears whole or not at all."""
    WRITERS[_extension(path, WRITERS, "write")](clip, path, **options)


def load_clip(path: str | os.PathLike[str]) -> MotionClip:
    """Read a take in any format that has a reader."""
    if not os.path.exists(path):
        raise InvalidInput(f"{os.fspath(path)} does not exist")
    return READERS[_extension(path, READERS, "read")](os.fspath(path))


def output_formats() -> list[str]:
    return sorted(WRITERS)
