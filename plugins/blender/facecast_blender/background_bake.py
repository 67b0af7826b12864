"""Background-mode batch baking: ``facecast blender-bake`` runs :func:`main` inside Blender (or a bpy venv).

Also usable by hand::

    blender -b scene.blend --online-mode --python-expr "import bpy; bpy.ops.facecast.bake(audio='/takes/line1.wav', \
object='Head', frame=1); bpy.ops.wm.save_mainfile()"

:func:`main` reads its options as JSON after ``--`` on the command line, prints one ``FACECAST_RESULT {json}``
line, and exits non-zero with ``FACECAST_ERROR message`` when the bake fails.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import bpy

from facecast.errors import FacecastError

RESULT_PREFIX = "FACECAST_RESULT "
ERROR_PREFIX = "FACECAST_ERROR "


def _run(op, **kwargs) -> None:
    """Run an operator; Blender turns an ERROR report into RuntimeError in background mode."""
    try:
        outcome = op(**kwargs)
    except RuntimeError as e:
        raise FacecastError(str(e).strip().removeprefix("Error: ")) from None
    if "FINISHED" not in outcome:
        raise FacecastError(f"{op.idname_py()} did not finish")


def bake_file(options: dict[str, Any]) -> dict[str, Any]:
    """Open ``blend`` (or an empty scene with the test head), bake ``audio``, save to ``output``."""
    if options.get("blend"):
        bpy.ops.wm.open_mainfile(filepath=options["blend"])
    else:
        bpy.ops.wm.read_factory_settings(use_empty=True)
        _run(bpy.ops.facecast.add_test_head)
    bpy.context.preferences.system.use_online_access = True  # asked for by running a batch bake
    scene = bpy.context.scene
    settings = scene.facecast
    for name in ("animator", "emotion", "emotion_intensity", "head_motion", "seed", "token"):
        if options.get(name) is not None:
            setattr(settings, name, options[name])
    if options.get("server"):
        settings.address = options["server"]
    else:
        settings.executable = options.get("executable", "")
        _run(bpy.ops.facecast.start_daemon)
    _run(bpy.ops.facecast.bake, audio=os.path.abspath(options["audio"]), object=options.get("object", ""),
         frame=int(options.get("frame", -1)))
    output = os.path.abspath(options["output"])
    # Blender writes "<file>@" and renames it over the target, so the .blend appears whole or not at all
    bpy.ops.wm.save_as_mainfile(filepath=output, check_existing=False)
    # the speech's action (the mouth region's NLA strip); later bakes of the same object get .001, .002, ...
    action = max((a.name for a in bpy.data.actions if "Facecast Mouth & Jaw" in a.name), default=None)
    return {"output": output, "action": action, "frame_end": scene.frame_end}


def main() -> None:
    options = json.loads(sys.argv[sys.argv.index("--") + 1])
    try:
        result = bake_file(options)
    except FacecastError as e:
        print(ERROR_PREFIX + str(e), flush=True)
        sys.exit(1)
    finally:
        from . import runtime

        runtime.shutdown()  # a daemon started for this bake must not outlive it
    print(RESULT_PREFIX + json.dumps(result), flush=True)
