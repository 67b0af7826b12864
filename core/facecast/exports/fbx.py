"""FBX export through Blender's own FBX exporter, run in the background.

FBX is a closed format; the one free writer that engines trust is Blender's. facecast prepares the curves (and
the ARKit test head) in an ``.npz``, then runs :mod:`facecast.exports.fbx_blender` in a Blender: the Python
of a ``bpy`` venv (``FACECAST_BLENDER_PYTHON``, else ``.venv-blender`` at the repository root), or a
``blender`` executable (``FACECAST_BLENDER``, else ``blender`` on PATH). The script keys the shape keys of the
test head (an armature with Head / LeftEye / RightEye bones, every frame keyed) or of the user's ``.blend`` /
``.fbx`` head (names matched through a mapping preset), and exports FBX with Y up and -Z forward as Unreal and
Unity expect.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from facecast.character.joints import HEAD, JOINT_NODE_NAMES, LEFT_EYE, RIGHT_EYE, joint_rotations, to_wxyz
from facecast.character.rig_mapping import Preset, mapping_for
from facecast.character.testhead import build_test_head
from facecast.errors import FacecastError, InvalidInput
from facecast.fileio import atomic_path
from facecast.motion import BLENDSHAPES, CHANNEL_INDEX, MotionClip

SCRIPT = Path(__file__).with_name("fbx_blender.py")
REPO_BLENDER_VENV = Path(__file__).resolve().parents[3] / ".venv-blender"
TIMEOUT_SECONDS = 600
HOW_TO_GET_BLENDER = (
    "FBX export runs Blender's FBX exporter, and no Blender was found. Either make the bpy venv at the "
    "repository root: python3.11 -m venv .venv-blender && .venv-blender/bin/pip install bpy 'numpy<2' "
    "(or set FACECAST_BLENDER_PYTHON to a Python that can import bpy), or install Blender 4.2+ and put "
    "`blender` on PATH (or set FACECAST_BLENDER to its path)")


def blender_command() -> list[str]:
    """The command that runs a Python script inside Blender, with the script path and ``--`` still to append."""
    python = os.environ.get("FACECAST_BLENDER_PYTHON")
    if python:
        return [python]
    venv_python = REPO_BLENDER_VENV / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    if venv_python.exists():
        return [str(venv_python)]
    blender = os.environ.get("FACECAST_BLENDER") or shutil.which("blender")
    if blender:
        return [blender, "--background", "--factory-startup", "--python-exit-code", "1", "--python"]
    raise FacecastError(HOW_TO_GET_BLENDER)


def write_fbx(clip: MotionClip, path: str | os.PathLike[str], head: str | os.PathLike[str] | None = None,
              preset: Preset = "arkit") -> None:
    """Write ``clip`` as FBX shape-key (and head/eye bone) animation, atomically. See the module docstring."""
    if clip.num_frames == 0:
        raise InvalidInput("the take has no frames; there is nothing to animate")
    if head is not None:
        head = os.path.abspath(os.fspath(head))
        if not os.path.exists(head):
            raise InvalidInput(f"head file {head} does not exist")
        if not head.lower().endswith((".blend", ".fbx")):
            raise InvalidInput(f"an FBX export animates a .blend or .fbx head, not {os.path.basename(head)}")
    command = blender_command()
    frames = np.arange(clip.num_frames, dtype=np.float64)
    arrays: dict[str, Any] = {}
    for i, name in enumerate(BLENDSHAPES):
        arrays[f"weight_frames_{i}"] = frames
        arrays[f"weights_{i}"] = clip.values[:, CHANNEL_INDEX[name]].astype(np.float64)
    for i, joint in enumerate((HEAD, LEFT_EYE, RIGHT_EYE)):
        arrays[f"rotation_frames_{i}"] = frames
        arrays[f"rotations_{i}"] = to_wxyz(joint_rotations(clip, joint))
    if head is None:
        test_head = build_test_head()
        arrays.update(
            head_positions=test_head.mesh.positions, head_indices=test_head.mesh.indices,
            head_colors=test_head.mesh.colors, eye_colors=test_head.eyes[0].mesh.colors,
            target_names=np.array(test_head.target_names), target_deltas=np.stack(list(test_head.targets.values())),
            eye_positions=test_head.eyes[0].mesh.positions, eye_indices=test_head.eyes[0].mesh.indices,
            eye_translations=np.array([eye.translation for eye in test_head.eyes]))
    lookup = {target: BLENDSHAPES.index(channel) for channel, targets in mapping_for(preset).items()
              for target in targets}
    with tempfile.TemporaryDirectory(prefix="facecast-fbx-") as work, atomic_path(path) as tmp:
        np.savez(os.path.join(work, "arrays.npz"), **arrays)
        job = {"arrays": os.path.join(work, "arrays.npz"), "output": os.path.abspath(tmp), "fps": clip.fps,
               "frames": clip.num_frames, "head": head, "channels": list(BLENDSHAPES), "lookup": lookup,
               "bones": {joint: list(JOINT_NODE_NAMES[joint]) for joint in (HEAD, LEFT_EYE, RIGHT_EYE)}}
        job_path = os.path.join(work, "job.json")
        with open(job_path, "w", encoding="utf-8") as f:
            json.dump(job, f)
        try:
            done = subprocess.run([*command, str(SCRIPT), "--", job_path], capture_output=True, text=True,
                                  timeout=TIMEOUT_SECONDS, check=False)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise FacecastError(f"running Blender for the FBX export failed: {e}") from None
        lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        notes = [line.removeprefix("facecast: ") for line in lines if line.startswith("facecast: ")]
        if done.returncode != 0 or not os.path.getsize(tmp):
            raise FacecastError(notes[-1] if notes else "Blender's FBX export failed: " + " | ".join(lines[-5:]))
        for note in notes:  # e.g. shape keys of the head that no ARKit channel drives
            warnings.warn(note, stacklevel=2)
