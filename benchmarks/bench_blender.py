"""Blender add-on bake time: a 60 s speech clip baked onto the ARKit test head inside real Blender (bpy).

    .venv/bin/python benchmarks/bench_blender.py [--audio ../shared/data/speech/musetalk_eng.wav] [--repeat 3]

Starts a real ``facecast serve`` on 127.0.0.1, then runs this file inside ``.venv-blender`` (the ``bpy``
module) with the add-on and its bundled facecast core wheel. Prints, best of ``--repeat``:
- daemon: the Animate call as the add-on's worker thread makes it (upload, animation, frame stream, decode),
- keying: writing the take into Blender (new actions, 52 shape-key curves + head/eye rotations, sound strip),
- total: ``bpy.ops.facecast.bake()`` end to end (the artist's click; the daemon part included).
Target: total <= 5 s for 60 s of speech on the 2-core dev machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "plugins" / "blender"
DEFAULT_AUDIO = ROOT.parent / "shared" / "data" / "speech" / "musetalk_eng.wav"


def inside_blender(address: str, audio: str, repeat: int, animator: str) -> dict:
    """Runs in the bpy venv: time the daemon call, the keying, and the whole operator."""
    import bpy
    import facecast_blender

    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.preferences.system.use_online_access = True
    facecast_blender.register()
    from facecast_blender import request
    from facecast_blender.apply import bake_clip
    from facecast_blender.jobs import animate_job

    scene = bpy.context.scene
    scene.render.fps = 30
    bpy.ops.facecast.add_test_head()
    settings = scene.facecast
    settings.address, settings.audio_path, settings.animator = address, audio, animator
    daemon, keying, total = [], [], []
    for _ in range(repeat):
        target = request.target(bpy.context, settings)
        source = request.audio(bpy.context, settings)
        began = time.perf_counter()
        message = animate_job(address, None, source.data, animator, 30, settings.controls()).start().wait()
        daemon.append(time.perf_counter() - began)
        clip = message.result
        began = time.perf_counter()
        bake_clip(scene, target.obj, clip, target.plan, 1, target.joints, source.path)
        keying.append(time.perf_counter() - began)
        began = time.perf_counter()
        bpy.ops.facecast.bake()
        total.append(time.perf_counter() - began)
    keys = sum(len(c.keyframe_points) for a in bpy.data.actions for c in _curves(a))
    return {"animator": clip.metadata.get("animator"), "daemon": min(daemon), "keying": min(keying),
            "total": min(total), "frames": clip.num_frames,
            "seconds": clip.duration, "keys_per_bake": keys // (2 * repeat)}


def _curves(action):
    if getattr(action, "is_action_layered", False):
        return [c for layer in action.layers for strip in layer.strips for bag in strip.channelbags
                for c in bag.fcurves]
    return list(action.fcurves)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    fallback = ROOT / "assets" / "speech_en.wav"
    parser.add_argument("--audio", default=str(DEFAULT_AUDIO if DEFAULT_AUDIO.exists() else fallback))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--animator", default="", help="daemon animator (default: the daemon's default)")
    parser.add_argument("--inside", help=argparse.SUPPRESS)  # address: run the bpy part
    args = parser.parse_args()
    if args.inside:
        print("RESULT " + json.dumps(inside_blender(args.inside, args.audio, args.repeat, args.animator)))
        return 0
    sys.path[:0] = [str(ROOT / "tests"), str(PLUGIN)]
    import build_addon

    from daemon import Daemon

    daemon = Daemon()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            with zipfile.ZipFile(build_addon.build_core_wheel(Path(tmp))) as wheel:
                wheel.extractall(Path(tmp) / "site")
            env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(tmp) / "site"), str(PLUGIN)])}
            began = time.perf_counter()
            done = subprocess.run([str(ROOT / ".venv-blender/bin/python"), __file__, "--inside", daemon.address,
                                   "--audio", os.path.abspath(args.audio), "--repeat", str(args.repeat),
                                   "--animator", args.animator],
                                  capture_output=True, text=True, env=env)
            wall = time.perf_counter() - began
    finally:
        daemon.stop()
    line = next((x for x in done.stdout.splitlines() if x.startswith("RESULT ")), None)
    if done.returncode or line is None:
        print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
        return 1
    r = json.loads(line[7:])
    print(f"audio: {args.audio} ({r['seconds']:.1f} s, {r['frames']} frames at 30 fps, "
          f"{r['keys_per_bake']} keys per bake)")
    print(f"daemon, animator {r['animator']} (Animate call incl. transfer): {r['daemon']:.3f} s")
    print(f"keying into Blender (actions, curves, sound strip): {r['keying']:.3f} s")
    print(f"bpy.ops.facecast.bake() total: {r['total']:.3f} s  (target <= 5 s)")
    print(f"(whole benchmark incl. Blender start, {args.repeat} repeats x 2 bakes: {wall:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
