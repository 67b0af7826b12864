"""Finding a Blender to run a script in (FBX export, ``facecast blender-bake``), never from the checkout.

Where facecast looks, in order: the ``--blender`` option; ``$FACECAST_BLENDER``; ``blender`` on ``PATH``;
``$FACECAST_BLENDER_PYTHON`` or this Python when it can import the ``bpy`` module (the ``bpy`` wheel). Each may be
a Blender executable or a Python with ``bpy``; a name containing "python" is taken for the latter. When none
is found, the error lists every place it looked."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass

from facecast.errors import FacecastError

HOW_TO_GET_ONE = ("install Blender 4.2+ and put `blender` on PATH, pass --blender /path/to/blender (or set "
                  "FACECAST_BLENDER), or use a Python 3.11 with the bpy wheel (pip install bpy; set "
                  "FACECAST_BLENDER_PYTHON to it)")


@dataclass(frozen=True)
class Blender:
    path: str
    is_python: bool  # a Python that imports bpy, rather than a Blender executable
    found_by: str

    def script_command(self, script: str) -> list[str]:
        """The command that runs ``script`` inside this Blender; arguments for the script follow ``--``."""
        if self.is_python:
            return [self.path, script, "--"]
        return [self.path, "--background", "--factory-startup", "--python-exit-code", "1", "--python", script, "--"]


def _is_python(path: str) -> bool:
    return "python" in os.path.basename(path).lower()


def _resolve(candidate: str) -> str | None:
    found = shutil.which(candidate)
    if found:
        return found
    return candidate if os.path.isfile(candidate) and os.access(candidate, os.X_OK) else None


def find_blender(configured: str | None = None, purpose: str = "this") -> Blender:
    """The Blender to use (see the module docstring), or :class:`FacecastError` saying where it looked."""
    looked: list[str] = []
    places = [("--blender", configured, "not given"),
              ("$FACECAST_BLENDER", os.environ.get("FACECAST_BLENDER"), "not set"),
              ("PATH", "blender", ""),
              ("$FACECAST_BLENDER_PYTHON", os.environ.get("FACECAST_BLENDER_PYTHON"), "not set")]
    for where, candidate, missing in places:
        if not candidate:
            looked.append(f"{where} ({missing})")
            continue
        path = shutil.which(candidate) if where == "PATH" else _resolve(candidate)
        if path:
            return Blender(path, where == "$FACECAST_BLENDER_PYTHON" or (where != "PATH" and _is_python(path)), where)
        looked.append("PATH (no blender)" if where == "PATH" else f"{where} ({candidate}: not an executable file)")
    if importlib.util.find_spec("bpy") is not None:
        return Blender(sys.executable, True, "this Python's bpy module")
    looked.append("this Python (no bpy module)")
    raise FacecastError(f"{purpose} needs Blender and none was found; looked at {', '.join(looked)}. To fix: "
                        f"{HOW_TO_GET_ONE}")
