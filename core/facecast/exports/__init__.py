"""Writing and reading takes. The format comes from the file extension.

Writers and readers are registered by extension as ``"module:function"`` and imported on first use (as the
animator registry does), so importing this package, or the Live Link CSV module, pulls in no glTF, USD, video
or Blender code. A new format: write ``write_<format>(clip, path, **options)`` in its own module here and add
its extension(s) to :data:`WRITERS` (and :data:`READERS` if it can be read back).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

from facecast.errors import InvalidInput
from facecast.motion import MotionClip

Writer = Callable[..., None]
Reader = Callable[[str], MotionClip]

WRITERS: dict[str, str] = {
    ".csv": "facecast.exports.livelink_csv:write_csv",
    ".json": "facecast.exports.json_clip:write_json",
    ".fcclip": "facecast.motion:save_fcclip",
    ".glb": "facecast.exports.gltf:write_gltf",
    ".gltf": "facecast.exports.gltf:write_gltf",
    ".usda": "facecast.exports.usd:write_usd",
    ".usdc": "facecast.exports.usd:write_usd",
    ".fbx": "facecast.exports.fbx:write_fbx",
    ".mp4": "facecast.exports.video:write_mp4",
}
READERS: dict[str, str] = {
    ".csv": "facecast.exports.livelink_csv:read_csv",
    ".json": "facecast.exports.json_clip:read_json",
    ".fcclip": "facecast.motion:load_fcclip",
}


def _extension(path: str | os.PathLike[str], table: dict[str, Any], verb: str) -> str:
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in table:
        raise InvalidInput(f"cannot {verb} {ext or 'files without an extension'}: use one of {', '.join(table)}")
    return ext


def _load(spec: str) -> Callable[..., Any]:
    module, function = spec.split(":")
    return getattr(importlib.import_module(module), function)


def writer(ext: str) -> Writer:
    """The writer function registered for extension ``ext`` (``".glb"``), imported on first use."""
    return _load(WRITERS[ext])


def reader(ext: str) -> Reader:
    """The reader function registered for extension ``ext`` (``".csv"``), imported on first use."""
    return _load(READERS[ext])


def export(clip: MotionClip, path: str | os.PathLike[str], **options: Any) -> None:
    """Write ``clip`` to ``path`` in the format its extension names; the file appears whole or not at all."""
    writer(_extension(path, WRITERS, "write"))(clip, path, **options)


def load_clip(path: str | os.PathLike[str]) -> MotionClip:
    """Read a take in any format that has a reader."""
    if not os.path.exists(path):
        raise InvalidInput(f"{os.fspath(path)} does not exist")
    return reader(_extension(path, READERS, "read"))(os.fspath(path))


def output_formats() -> list[str]:
    return sorted(WRITERS)
