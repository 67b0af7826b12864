"""FBX export through Blender's own FBX exporter, run in the background.

FBX is a closed format; the one free writer that engines trust is Blender's. facecast prepares the curves (and
the ARKit test head) in an ``.npz``, then runs :mod:`facecast.exports.fbx_blender` in a Blender found by
:func:`facecast.blender.find_blender` (``$FACECAST_BLENDER``, ``blender`` on PATH, or a Python with ``bpy``:
``$FACECAST_BLENDER_PYTHON`` or this one). The script keys the shape keys of the
test head (an armature with Head / LeftEye / RightEye bones, every frame keyed) or of the user's ``.blend`` /
``.fbx`` head (names matched through a mapping preset), and exports FBX with Y up and -Z forward as Unreal and
Unity expect.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from facecast.blender import find_blender
from facecast.character.joints import HEAD, JOINT_NODE_NAMES, LEFT_EYE, RIGHT_EYE, joint_rotations, to_wxyz
from facecast.character.rig_mapping import Preset, mapping_for
from facecast.character.testhead import build_test_head
from facecast.errors import FacecastError, InvalidInput
from facecast.fileio import atomic_path
from facecast.motion import BLENDSHAPES, CHANNEL_INDEX, MotionClip

SCRIPT = Path(__file__).with_name("fbx_blender.py")
TIMEOUT_SECONDS = 600


def blender_command(configured: str | None = None) -> list[str]:
    """The command that runs a Python script inside Blender, with the script path and ``--`` still to append."""
    command = find_blender(configured, "FBX export (Blender's FBX exporter)").script_command("")
    return command[:-2]  # without the script and "--"


def write_fbx(clip: MotionClip, path: str | os.PathLike[str], head: str | os.PathLike[str] | None = None,
              preset: Preset = "arkit", blender: str | None = None) -> None:
    """Write ``clip`` as FBX shape-key (and head/eye bone) animation, atomically. See the module docstring;
    ``blender`` is the Blender executable or bpy Python to run (default: found as it says)."""
    if clip.num_frames == 0:
        raise InvalidInput("the take has no frames; there is nothing to animate")
    if head is not None:
        head = os.path.abspath(os.fspath(head))
        if not os.path.exists(head):
            raise InvalidInput(f"head file {head} does not exist")
        if not head.lower().endswith((".blend", ".fbx")):
            raise InvalidInput(f"an FBX export animates a .blend or .fbx head, not {os.path.basename(head)}")
    command = blender_command(blender)
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
