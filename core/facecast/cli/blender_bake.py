"""``facecast blender-bake``: bake speech onto a .blend in background mode, through the Blender add-on.

Runs a Blender executable with the Facecast extension installed and enabled, or a Python that has the ``bpy``
module together with the extension given by ``--addon`` (the zip ``make blender-addon`` builds, or that zip
unpacked). Blender is found as :mod:`facecast.blender` says (``--blender``, ``$FACECAST_BLENDER``, ``PATH``,
a ``bpy`` Python); nothing is taken from a checkout::

    facecast blender-bake line1.wav -o line1.blend --blend rig.blend --object Head --server 127.0.0.1:50051
    facecast blender-bake line1.wav -o demo.blend          # test head, local daemon started and stopped
    facecast blender-bake line1.wav -o demo.blend --blender venv/bin/python --addon facecast_blender-0.1.0.zip
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

from facecast.blender import find_blender
from facecast.errors import FacecastError, InvalidInput

# the add-on module: the installed extension (bl_ext.<repo>.facecast) or, in a bpy Python, the --addon given
BOOTSTRAP = """
import importlib, sys, bpy
name = next((m for m in bpy.context.preferences.addons.keys() if m.rsplit('.', 1)[-1] == 'facecast'), None)
if name is None:
    try:
        import facecast_blender
    except ImportError:
        print('FACECAST_ERROR the Facecast extension is not installed and enabled in this Blender (install '
              'the zip from make blender-addon, or give a bpy Python with --addon)', flush=True)
        sys.exit(1)
    facecast_blender.register()
    name = 'facecast_blender'
importlib.import_module(name + '.background_bake').main()
"""
# bpy 4.2 module builds crash at exit once Python property callbacks were registered; the bake is saved and
# reported by then, so a bpy Python leaves without interpreter cleanup (a Blender executable exits normally)
MODULE_EXIT = "import os; sys.stdout.flush(); os._exit(0)\n"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from facecast.cli._options import add_seed_option, add_server_option

    p = subparsers.add_parser("blender-bake", help="bake speech onto a .blend in Blender's background mode")
    p.add_argument("audio", help="speech audio file")
    p.add_argument("-o", "--output", required=True, help="the .blend to write")
    p.add_argument("--blend", help="scene to open (default: an empty scene with the ARKit test head)")
    p.add_argument("--object", default="", help="mesh whose shape keys to key (default: the active object)")
    p.add_argument("--frame", type=int, default=-1, help="first frame (default: the scene's current frame)")
    add_server_option(p, local_fallback="start a local daemon for this bake")
    p.add_argument("--animator", help="animator on the daemon (default: the daemon's default for clips)")
    p.add_argument("--emotion", help="emotion, e.g. happy (default neutral)")
    p.add_argument("--emotion-intensity", type=float, help="strength of the emotion, 0..1 (default 0.6)")
    p.add_argument("--head-motion", type=float, help="head motion scale (default 1)")
    add_seed_option(p, None, "0")
    p.add_argument("--text", help="transcript of the speech, for animators that take text (phonetic)")
    p.add_argument("--language", help="language of the transcript, e.g. en (default), de, fr")
    p.add_argument("--blender", help="Blender executable or a Python with bpy (default: $FACECAST_BLENDER, "
                   "blender on PATH, $FACECAST_BLENDER_PYTHON, or this Python's bpy)")
    p.add_argument("--addon", help="the Facecast extension zip (make blender-addon) or that zip unpacked, for a "
                   "Python with bpy (a Blender executable uses its installed extension)")
    p.set_defaults(run=run)


def _python_path(addon: str | None, workdir: Path) -> str:
    """For a bpy Python: ``addon`` (the extension zip or its unpacked folder) as the package ``facecast_blender``
    and the facecast subset it bundles (``wheels/facecast-*.whl``) on the path."""
    if not addon:
        raise InvalidInput("a Python with bpy needs the Facecast extension: pass --addon facecast_blender-VERSION.zip "
                           "(make blender-addon builds it), or use a Blender executable with the extension installed")
    package = workdir / "facecast_blender"
    if os.path.isfile(addon) and zipfile.is_zipfile(addon):
        with zipfile.ZipFile(addon) as zf:
            zf.extractall(package)
    elif os.path.isdir(addon):
        package.symlink_to(os.path.abspath(addon), target_is_directory=True)
    else:
        raise InvalidInput(f"--addon {addon} is neither the extension zip nor its unpacked folder")
    if not (package / "__init__.py").is_file() or not (package / "blender_manifest.toml").is_file():
        raise InvalidInput(f"--addon {addon} is not the Facecast extension (no __init__.py / blender_manifest.toml)")
    core = sorted((package / "wheels").glob("facecast-*.whl"))
    if not core:
        raise InvalidInput(f"--addon {addon} bundles no facecast wheel (wheels/facecast-*.whl); build the zip with "
                           "make blender-addon")
    with zipfile.ZipFile(core[-1]) as wheel:
        wheel.extractall(workdir / "site")
    return os.pathsep.join([str(workdir / "site"), str(workdir)])


def run(args: argparse.Namespace) -> int:
    if not os.path.isfile(args.audio):
        raise InvalidInput(f"audio file {args.audio} does not exist")
    if args.blend and not os.path.isfile(args.blend):
        raise InvalidInput(f"scene {args.blend} does not exist")
    from facecast.phonemes.languages import check_language

    if args.language and not args.text:
        raise InvalidInput("--language is the language of --text: give the transcript too")
    blender = find_blender(args.blender, "blender-bake")
    options = {
        "audio": os.path.abspath(args.audio), "output": os.path.abspath(args.output),
        "blend": os.path.abspath(args.blend) if args.blend else "", "object": args.object, "frame": args.frame,
        "server": args.server, "token": args.token, "animator": args.animator, "emotion": args.emotion,
        "emotion_intensity": args.emotion_intensity, "head_motion": args.head_motion, "seed": args.seed,
        "transcript": args.text, "language": check_language(args.language),
        "executable": shutil.which("facecast") or str(Path(sys.executable).with_name("facecast")),
    }
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    with tempfile.TemporaryDirectory(prefix="facecast-blender-") as tmp:
        if not blender.is_python:
            command = [blender.path, "-b", "--online-mode", "--python-exit-code", "1", "--python-expr", BOOTSTRAP]
        else:
            command = [blender.path, "-c", BOOTSTRAP + MODULE_EXIT]
            env["PYTHONPATH"] = _python_path(args.addon, Path(tmp))
        done = subprocess.run([*command, "--", json.dumps(options)], capture_output=True, text=True, env=env)
    lines = done.stdout.splitlines()
    error = next((line.split(" ", 1)[1] for line in lines if line.startswith("FACECAST_ERROR ")), None)
    result = next((json.loads(line.split(" ", 1)[1]) for line in lines if line.startswith("FACECAST_RESULT ")), None)
    if done.returncode or result is None:
        tail = error or (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise FacecastError(f"Blender bake failed: {tail}")
    print(f"baked {args.audio} into {result['output']} (action {result['action']}, frames to {result['frame_end']})")
    return 0
