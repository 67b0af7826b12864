"""``facecast blender-bake``: bake speech onto a .blend in background mode, through the Blender add-on.

Runs a Blender executable (with the Facecast extension installed and enabled) or a Python that has the
``bpy`` module (``.venv-blender`` in a checkout, where the add-on is taken from ``plugins/blender``)::

    facecast blender-bake line1.wav -o line1.blend --blend rig.blend --object Head --server 127.0.0.1:50051
    facecast blender-bake line1.wav -o demo.blend          # test head, local daemon started and stopped
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from facecast.errors import FacecastError, InvalidInput

CHECKOUT = Path(__file__).resolve().parents[3]
PLUGIN = CHECKOUT / "plugins" / "blender"
# the add-on module: the installed extension (bl_ext.<repo>.facecast) or, in a bpy venv, the source tree
BOOTSTRAP = """
import importlib, sys, bpy
name = next((m for m in bpy.context.preferences.addons.keys() if m.rsplit('.', 1)[-1] == 'facecast'), None)
if name is None:
    try:
        import facecast_blender
    except ImportError:
        print('FACECAST_ERROR the Facecast extension is not installed and enabled in this Blender', flush=True)
        sys.exit(1)
    facecast_blender.register()
    name = 'facecast_blender'
importlib.import_module(name + '.background_bake').main()
"""
# bpy 4.2 module builds crash at exit once Python property callbacks were registered; the bake is saved and
# reported by then, so a bpy Python leaves without interpreter cleanup (a Blender executable exits normally)
MODULE_EXIT = "import os; sys.stdout.flush(); os._exit(0)\n"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("blender-bake", help="bake speech onto a .blend in Blender's background mode")
    p.add_argument("audio", help="speech audio file")
    p.add_argument("-o", "--output", required=True, help="the .blend to write")
    p.add_argument("--blend", help="scene to open (default: an empty scene with the ARKit test head)")
    p.add_argument("--object", default="", help="mesh whose shape keys to key (default: the active object)")
    p.add_argument("--frame", type=int, default=-1, help="first frame (default: the scene's current frame)")
    p.add_argument("--server", default=os.environ.get("FACECAST_SERVER"),
                   help="daemon address (default: start a local daemon for this bake)")
    p.add_argument("--token", default=os.environ.get("FACECAST_TOKEN"))
    p.add_argument("--animator")
    p.add_argument("--emotion")
    p.add_argument("--emotion-intensity", type=float)
    p.add_argument("--head-motion", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--blender", default=os.environ.get("FACECAST_BLENDER"),
                   help="Blender executable or a Python with bpy (default: $FACECAST_BLENDER, .venv-blender, blender)")
    p.set_defaults(run=run)


def find_blender(configured: str | None) -> str:
    candidates = [configured] if configured else [str(CHECKOUT / ".venv-blender" / "bin" / "python"), "blender"]
    for candidate in candidates:
        found = shutil.which(candidate) or (candidate if os.path.isfile(candidate) else None)
        if found:
            return found
    raise InvalidInput(f"no Blender found (tried {', '.join(candidates)}); pass --blender or set FACECAST_BLENDER")


def _is_blender_executable(path: str) -> bool:
    return "python" not in os.path.basename(path).lower()


def _python_path(workdir: Path) -> str:
    """For a bpy venv: the add-on source and its bundled facecast subset (built like the extension's)."""
    if not PLUGIN.is_dir():
        raise InvalidInput("a bpy Python needs the add-on from a facecast checkout (plugins/blender); "
                           "use a Blender executable with the Facecast extension installed instead")
    sys.path.insert(0, str(PLUGIN))
    try:
        import build_addon
    finally:
        sys.path.remove(str(PLUGIN))
    with zipfile.ZipFile(build_addon.build_core_wheel(workdir)) as wheel:
        wheel.extractall(workdir / "site")
    return os.pathsep.join([str(workdir / "site"), str(PLUGIN)])


def run(args: argparse.Namespace) -> int:
    if not os.path.isfile(args.audio):
        raise InvalidInput(f"audio file {args.audio} does not exist")
    if args.blend and not os.path.isfile(args.blend):
        raise InvalidInput(f"scene {args.blend} does not exist")
    blender = find_blender(args.blender)
    options = {
        "audio": os.path.abspath(args.audio), "output": os.path.abspath(args.output),
        "blend": os.path.abspath(args.blend) if args.blend else "", "object": args.object, "frame": args.frame,
        "server": args.server, "token": args.token, "animator": args.animator, "emotion": args.emotion,
        "emotion_intensity": args.emotion_intensity, "head_motion": args.head_motion, "seed": args.seed,
        "executable": shutil.which("facecast") or str(Path(sys.executable).with_name("facecast")),
    }
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    with tempfile.TemporaryDirectory(prefix="facecast-blender-") as tmp:
        if _is_blender_executable(blender):
            command = [blender, "-b", "--online-mode", "--python-exit-code", "1", "--python-expr", BOOTSTRAP]
        else:
            command = [blender, "-c", BOOTSTRAP + MODULE_EXIT]
            env["PYTHONPATH"] = _python_path(Path(tmp))
        done = subprocess.run([*command, "--", json.dumps(options)], capture_output=True, text=True, env=env)
    lines = done.stdout.splitlines()
    error = next((line.split(" ", 1)[1] for line in lines if line.startswith("FACECAST_ERROR ")), None)
    result = next((json.loads(line.split(" ", 1)[1]) for line in lines if line.startswith("FACECAST_RESULT ")), None)
    if done.returncode or result is None:
        tail = error or (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise FacecastError(f"Blender bake failed: {tail}")
    print(f"baked {args.audio} into {result['output']} (action {result['action']}, frames to {result['frame_end']})")
    return 0
