"""Checks that run the add-on inside real Blender (the ``bpy`` module); driven by tests/test_blender_addon.py.

    python bpy_checks.py CHECK PARAMS.json RESULT.json

Each check starts from Blender's factory settings (empty scene), registers the add-on and writes what it
observed to RESULT.json; the pytest side compares that with the daemon's own clip. Nothing here asserts.
"""

from __future__ import annotations

import json
import os
import sys
import time

import bpy

try:
    import facecast_blender  # from the source tree; check_install uses the installed extension instead
except ImportError:
    facecast_blender = None

AUDIO = bpy.app.build_options.audaspace  # bpy 4.2 module wheels are built without audio: no sound strips


def strips_of(scene: bpy.types.Scene) -> list:
    editor = scene.sequence_editor
    if editor is None:
        return []
    return list(editor.strips_all if hasattr(editor, "strips_all") else editor.sequences_all)


def bake(**kwargs) -> dict:
    """``bpy.ops.facecast.bake``; where Blender has no audio support, the same steps minus the sound strip."""
    if AUDIO:
        return run_op(bpy.ops.facecast.bake, **kwargs)
    from facecast_blender import request
    from facecast_blender.apply import bake_clip
    from facecast_blender.jobs import animate_job
    from facecast_blender.props import clip_fps

    scene, settings = bpy.context.scene, bpy.context.scene.facecast
    target = request.target(bpy.context, settings)
    source = request.audio(bpy.context, settings, frame=kwargs.get("frame", -1))
    message = animate_job(settings.address, settings.token, source.data, settings.animator,
                          clip_fps(settings, scene), settings.controls()).start().wait()
    if message.kind == "error":
        return {"result": ["CANCELLED"], "error": message.text}
    bake_clip(scene, target.obj, message.result, target.plan, source.start_frame, target.joints, None,
              settings.regions(kwargs.get("regions", "")))
    return {"result": ["FINISHED"], "error": None}


def fresh_scene(fps: int = 30) -> bpy.types.Scene:
    if hasattr(bpy.types.Scene, "facecast"):
        facecast_blender.unregister()
    bpy.ops.wm.read_factory_settings(use_empty=True)
    bpy.context.preferences.system.use_online_access = True  # what a user does in Preferences > System
    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = fps, 1.0
    return scene


def run_op(op, **kwargs) -> dict:
    """Run an operator; a Blender ERROR report arrives as RuntimeError in background mode."""
    try:
        return {"result": sorted(op(**kwargs)), "error": None}
    except RuntimeError as e:
        return {"result": ["CANCELLED"], "error": str(e)}


def shape_key_curves(obj: bpy.types.Object, user: bool = False) -> dict[str, list[list[float]]]:
    """The baked shape-key curves (the facecast NLA strips'), or with ``user`` those of the active action."""
    from facecast_blender.apply import baked_fcurves, fcurves

    out = {}
    for curve in (fcurves if user else baked_fcurves)(obj.data.shape_keys):
        name = curve.data_path.split('"')[1]
        co = [0.0] * (2 * len(curve.keyframe_points))
        curve.keyframe_points.foreach_get("co", co)
        out[name] = [co[0::2], co[1::2]]
    return out


def setup_head(params: dict) -> bpy.types.Object:
    scene = fresh_scene(params.get("fps", 30))
    facecast_blender.register()
    bpy.ops.facecast.add_test_head()
    settings = scene.facecast
    settings.address = params["address"]
    settings.token = params.get("token", "")
    settings.audio_path = params.get("audio", "")
    settings.seed = params.get("seed", 0)
    scene.frame_current = params.get("frame", 1)
    return bpy.context.active_object


def check_register(params: dict) -> dict:
    fresh_scene()
    out = {}
    for round_ in range(2):
        facecast_blender.register()
        out[f"registered_{round_}"] = (hasattr(bpy.types.Scene, "facecast") and hasattr(bpy.ops.facecast, "bake")
                                       and "FACECAST_PT_daemon" in dir(bpy.types))
        facecast_blender.unregister()
        out[f"unregistered_{round_}"] = not hasattr(bpy.types.Scene, "facecast") and \
            "FACECAST_PT_daemon" not in dir(bpy.types)
    return out


def check_bake(params: dict) -> dict:
    head = setup_head(params)
    started = time.perf_counter()
    op = bake()
    seconds = time.perf_counter() - started
    scene = bpy.context.scene
    strips = strips_of(scene)
    animation = head.data.shape_keys.animation_data
    head_curves = {}
    from facecast_blender.apply import baked_fcurves, baked_strips

    for curve in baked_fcurves(head):
        co = [0.0] * (2 * len(curve.keyframe_points))
        curve.keyframe_points.foreach_get("co", co)
        head_curves[f"{curve.data_path}[{curve.array_index}]"] = co[1::2]
    return {
        "op": op, "seconds": seconds, "audio": AUDIO,
        "curves": shape_key_curves(head),
        "rotation_curves": head_curves,
        "active_action": bool(animation and animation.action),
        "tracks": sorted(t.name for t in animation.nla_tracks) if animation else [],
        "strip_actions": sorted(s.action.name for s in baked_strips(head.data.shape_keys)),
        "strips": [{"name": s.name, "frame_start": s.frame_start, "channel": s.channel, "type": s.type,
                    "filepath": bpy.path.abspath(s.sound.filepath)} for s in strips],
        "frame_end": scene.frame_end,
    }


def check_transcript_warning(params: dict) -> dict:
    """Bake with a transcript that does not fit the audio: the operator's reports (Blender prints them on the
    process's stdout in background mode, so fd 1 goes to a file meanwhile) and whether keys were baked."""
    head = setup_head(params)
    bpy.context.scene.facecast.transcript = params["transcript"]
    path = os.path.join(os.getcwd(), "reports.txt")
    sys.stdout.flush()
    saved = os.dup(1)
    with open(path, "wb") as f:
        os.dup2(f.fileno(), 1)
        try:
            op = run_op(bpy.ops.facecast.bake)
        finally:
            sys.stdout.flush()
            os.dup2(saved, 1)
            os.close(saved)
    with open(path, encoding="utf-8", errors="replace") as f:
        printed = f.read()
    return {"op": op, "printed": printed, "curves": len(shape_key_curves(head))}


def check_rebake(params: dict) -> dict:
    """Bake at frame 1, again at frame 400 (both takes play), then over the first: it is replaced, kept."""
    from facecast_blender.apply import baked_fcurves, baked_strips

    def head_yaw() -> list[float]:  # the head object's baked yaw over the take at frame 1
        curve = next(c for c in baked_fcurves(head) if c.data_path == "rotation_euler" and c.array_index == 2)
        return [curve.evaluate(f) for f in range(1, 200)]

    head = setup_head(params)
    key = head.data.shape_keys
    ops = [bake()]
    first = [s.action.name for s in baked_strips(key)]
    first_yaw = head_yaw()
    ops.append(bake(frame=400))
    both = [(s.action.name, s.frame_start) for s in baked_strips(key)]
    bpy.context.scene.frame_set(60)  # the head is turned here by the first take: a re-bake must not add that
    ops.append(bake(frame=1))
    last = [(s.action.name, s.frame_start) for s in baked_strips(key)]
    return {"ops": ops, "first": first, "both": both, "last": last, "first_yaw": first_yaw, "last_yaw": head_yaw(),
            "fake_users": sorted(a.name for a in bpy.data.actions if a.use_fake_user),
            "active_action": key.animation_data.action is not None}


def check_csv(params: dict) -> dict:
    """Bake, export CSV, import it onto a second head at the same frame; return both heads' curves."""
    head = setup_head(params)
    baked = bake()
    exported = run_op(bpy.ops.facecast.export_csv, filepath=params["csv"])
    bpy.ops.facecast.add_test_head()
    other = bpy.context.active_object
    imported = run_op(bpy.ops.facecast.import_csv, filepath=params["csv"])
    return {"ops": [baked, exported, imported], "baked": shape_key_curves(head), "imported": shape_key_curves(other),
            "names": [head.name, other.name]}


def check_errors(params: dict) -> dict:
    out = {}
    setup_head({**params, "address": params["dead_address"]})
    out["daemon_down"] = run_op(bpy.ops.facecast.bake)
    out["daemon_down_actions"] = len(bpy.data.actions)
    setup_head({**params, "token": "wrong-token"})
    out["wrong_token"] = run_op(bpy.ops.facecast.bake)
    setup_head({**params, "audio": params["bad_audio"]})
    out["bad_audio"] = run_op(bpy.ops.facecast.bake)
    out["bad_audio_actions"] = len(bpy.data.actions)
    setup_head({**params, "audio": params["missing_audio"]})
    out["missing_audio"] = run_op(bpy.ops.facecast.bake)
    setup_head(params)
    bpy.ops.mesh.primitive_cube_add()
    out["no_shape_keys"] = run_op(bpy.ops.facecast.bake)
    setup_head(params)
    settings = bpy.context.scene.facecast
    settings.mapping_preset = "custom"
    for row in settings.mapping:
        row.targets = f"Nope_{row.arkit}"
    out["no_mapping_match"] = run_op(bpy.ops.facecast.bake)
    setup_head(params)
    bpy.context.preferences.system.use_online_access = False
    out["offline"] = run_op(bpy.ops.facecast.bake)
    out["offline_actions"] = len(bpy.data.actions)
    return out


def check_live(params: dict) -> dict:
    """Start a live preview and drive it by calling the timer callback (background mode runs no timers)."""
    from facecast_blender import ops_live

    head = setup_head(params)
    started = run_op(bpy.ops.facecast.live_start)
    jaw = head.data.shape_keys.key_blocks["JawOpen"]
    values, deadline = [], time.monotonic() + params.get("timeout", 30)
    while ops_live.PREVIEW and time.monotonic() < deadline:
        if ops_live.tick() is None:
            break
        values.append(jaw.value)
        time.sleep(ops_live.TICK_SECONDS)
    from facecast_blender.runtime import RUNTIME

    still_running = bool(ops_live.PREVIEW)
    ops_live.stop_preview("stopped by check")
    return {"op": started, "jaw": values, "status": RUNTIME.live_status, "still_running": still_running}


def check_start_daemon(params: dict) -> dict:
    fresh_scene()
    facecast_blender.register()
    settings = bpy.context.scene.facecast
    settings.executable = params["executable"]
    op = run_op(bpy.ops.facecast.start_daemon)
    from facecast_blender.runtime import RUNTIME

    out = {"op": op, "address": settings.address, "status": RUNTIME.status, "info": RUNTIME.info is not None}
    daemon = RUNTIME.local_daemon
    facecast_blender.unregister()  # stops the daemon it started
    out["stopped"] = daemon is not None and not daemon.running
    return out


def check_portrait(params: dict) -> dict:
    """Save the .blend into params["blend"] (the frames go to //facecast), bake the talking portrait, and with
    params["again"] bake again with the plane active (it is updated, not duplicated)."""
    from facecast_blender.runtime import RUNTIME

    setup_head(params)
    bpy.ops.wm.save_as_mainfile(filepath=params["blend"])
    settings = bpy.context.scene.facecast
    settings.portrait_path, settings.portrait_size = params["portrait"], params["size"]
    settings.fps_mode = params.get("fps_mode", "SCENE")
    ops = [run_op(bpy.ops.facecast.portrait)]
    if params.get("again") is not None:
        plane = bpy.data.objects.get("FacecastPortrait")
        bpy.context.view_layer.objects.active = plane
        bpy.context.scene.frame_current = params["again"]
        ops.append(run_op(bpy.ops.facecast.portrait))
    planes = [o for o in bpy.data.objects if o.get("facecast_portrait")]
    out = {"ops": ops, "status": RUNTIME.portrait_status, "planes": len(planes),
           "frame_end": bpy.context.scene.frame_end}
    if planes:
        texture = planes[0].active_material.node_tree.nodes["Image Texture"]
        image, user = texture.image, texture.image_user
        still = bpy.data.images.load(image.filepath, check_existing=False)  # headless Blender loads no sequence
        out.update(source=image.source, filepath=bpy.path.abspath(image.filepath), size=list(still.size),
                   frame_duration=user.frame_duration, frame_start=user.frame_start, frame_offset=user.frame_offset,
                   use_cyclic=user.use_cyclic)
    out["strip_frames"] = sorted(s.frame_start for s in strips_of(bpy.context.scene))
    return out


def check_import_app_take(params: dict) -> dict:
    """Import a real Live Link Face app take (30 rows a second, 60 fps timecode) at the scene's frame rate."""
    head = setup_head({**params, "address": "127.0.0.1:1"})
    imported = run_op(bpy.ops.facecast.import_csv, filepath=params["csv"])
    return {"ops": [imported], "curves": shape_key_curves(head), "fps": bpy.context.scene.render.fps}


def check_panels(params: dict) -> dict:
    """Run every panel's real draw() (recorded, as doc_images.py does) in several scene states."""
    from doc_images import RecordingLayout
    from facecast_blender import ui

    def draw_all() -> list[dict]:
        panels = []
        for cls in ui.CLASSES:
            if issubclass(cls, bpy.types.Panel):
                layout = RecordingLayout()
                cls.draw(type("PanelStandIn", (), {"layout": layout})(), bpy.context)
                panels.append({"label": cls.bl_label, "items": layout.items})
        return panels

    fresh_scene()
    facecast_blender.register()
    states = {"empty": draw_all()}
    bpy.ops.facecast.add_test_head()
    settings = bpy.context.scene.facecast
    settings.audio_source, settings.gaze_mode, settings.show_mapping = "STRIP", "FIXED", True
    bpy.context.preferences.system.use_online_access = False
    states["head"] = draw_all()
    return states


def check_rollback(params: dict) -> dict:
    """A bake's changes, then undo_bake (what a failing bake runs): the scene must be as before."""
    import numpy as np
    from facecast_blender import request
    from facecast_blender.apply import bake_clip, undo_bake

    from facecast.motion import NUM_CHANNELS, MotionClip

    head = setup_head(params)
    key = head.data.shape_keys
    key.animation_data_create()
    key.animation_data.action = bpy.data.actions.new("Mine")
    settings = bpy.context.scene.facecast
    target = request.target(bpy.context, settings)
    clip = MotionClip(30, np.full((30, NUM_CHANNELS), 0.1, np.float32))
    result = bake_clip(bpy.context.scene, head, clip, target.plan, 1, target.joints,
                       params["audio"] if AUDIO else None)
    during = sorted(a.name for a in bpy.data.actions)
    undo_bake(bpy.context.scene, result)
    return {"during": during, "after": sorted(a.name for a in bpy.data.actions),
            "tracks": [t.name for i in (key, head) if i.animation_data for t in i.animation_data.nla_tracks],
            "action": key.animation_data.action.name, "fake_user": bpy.data.actions["Mine"].use_fake_user,
            "head_action": head.animation_data.action.name if head.animation_data and head.animation_data.action
            else None, "strips": len(strips_of(bpy.context.scene))}


def check_regions(params: dict) -> dict:
    """Bake every region, hand-key the brows, re-bake only the mouth with another seed (and strength 0.5,
    smoothing): the hand keys and the brow/eye/head strips must be untouched, the mouth strip new."""
    from facecast_blender.apply import baked_fcurves

    head = setup_head(params)
    key = head.data.shape_keys
    scene = bpy.context.scene
    ops = [bake()]
    before = {t.name: [s.action.name for s in t.strips] for t in key.animation_data.nla_tracks}
    head_before = {t.name: [s.action.name for s in t.strips] for t in head.animation_data.nla_tracks}
    brow = key.key_blocks["BrowInnerUp"]
    for frame, value in params["brow_keys"]:  # what an animator does: key the brows by hand
        brow.value = value
        brow.keyframe_insert("value", frame=frame)
    user_before = shape_key_curves(head, user=True)
    baked_before = shape_key_curves(head)
    settings = scene.facecast
    settings.seed = params["seed2"]
    settings.region_mouth.strength, settings.region_mouth.smoothing = params["strength"], params["smoothing"]
    ops.append(bake(regions="mouth"))
    after = {t.name: [s.action.name for s in t.strips] for t in key.animation_data.nla_tracks}
    head_after = {t.name: [s.action.name for s in t.strips] for t in head.animation_data.nla_tracks}
    played = {}
    for frame in params["probe_frames"]:
        scene.frame_set(frame)
        played[str(frame)] = {n: key.key_blocks[n].value for n in ("BrowInnerUp", "JawOpen", "EyeBlinkLeft")}
    return {"ops": ops, "before": before, "after": after, "head_before": head_before, "head_after": head_after,
            "user_before": user_before, "user_after": shape_key_curves(head, user=True),
            "baked_before": baked_before, "baked_after": shape_key_curves(head),
            "active_action": key.animation_data.action.name, "played": played,
            "rotation_curves": len(baked_fcurves(head))}


def check_export_rate(params: dict) -> dict:
    """Bake a 30 fps take in a 60 fps scene; Export CSV writes 30 fps unless asked to resample."""
    head = setup_head({**params, "fps": 60})
    settings = bpy.context.scene.facecast
    settings.fps_mode = "30"
    baked = bake()
    settings.fps_mode = "SCENE"
    own = run_op(bpy.ops.facecast.export_csv, filepath=params["own"])
    resampled = run_op(bpy.ops.facecast.export_csv, filepath=params["resampled"], resample=True)
    return {"ops": [baked, own, resampled], "curves": shape_key_curves(head)}


def world_vertices(obj: bpy.types.Object) -> list[list[float]]:
    """The evaluated (shape keys, armature, parents) vertex positions of a mesh in world space."""
    import numpy as np

    evaluated = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    mesh = evaluated.to_mesh()
    co = np.zeros(3 * len(mesh.vertices))
    mesh.vertices.foreach_get("co", co)
    evaluated.to_mesh_clear()
    matrix = np.array(evaluated.matrix_world)
    return (co.reshape(-1, 3) @ matrix[:3, :3].T + matrix[:3, 3]).tolist()


def check_rig(params: dict) -> dict:
    """Bake onto the generated CC4 rig (CC4 shape keys, head and eye bones), then the ARKit test head with the
    same take: as they play, both faces must be the same surface."""
    from facecast_blender import request
    from facecast_blender.apply import baked_fcurves

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from cc4_rig import HEAD_BONE, LEFT_EYE_BONE, RIGHT_EYE_BONE, add_cc4_rig

    scene = fresh_scene(30)
    facecast_blender.register()
    body, armature = add_cc4_rig()
    settings = scene.facecast
    settings.address, settings.audio_path = params["address"], params["audio"]
    settings.mapping_preset = "cc4"
    settings.head_object, settings.head_bone = armature, HEAD_BONE
    settings.eye_left, settings.eye_left_bone = armature, LEFT_EYE_BONE
    settings.eye_right, settings.eye_right_bone = armature, RIGHT_EYE_BONE
    scene.frame_current = 1
    plan = request.target(bpy.context, settings).plan
    rig_op = bake()
    rig_curves = shape_key_curves(body)
    bone_paths = sorted({c.data_path for c in baked_fcurves(armature)})
    bpy.ops.facecast.add_test_head()
    head = bpy.context.active_object
    head_op = bake()
    surfaces = {}
    for frame in params["probe_frames"]:
        scene.frame_set(frame)
        surfaces[str(frame)] = {"rig": world_vertices(body), "head": world_vertices(head),
                                "head_bone": list(armature.pose.bones[HEAD_BONE].rotation_quaternion)}
    if params.get("blend"):
        bpy.ops.wm.save_as_mainfile(filepath=params["blend"])
    return {"ops": [rig_op, head_op], "missing": plan.missing, "bindings": len(plan.bindings),
            "shape_keys": [k.name for k in body.data.shape_keys.key_blocks], "rig_curves": rig_curves,
            "bone_paths": bone_paths, "surfaces": surfaces}


def check_local(params: dict) -> dict:
    """Generate & Bake in-process: Online Access off, nothing listening at the address, Run = In Blender; first
    with no animator chosen (the default: the learned model where onnxruntime imports), then with ``energy``."""
    import sys as _sys

    head = setup_head({**params, "address": "127.0.0.1:1"})
    bpy.context.preferences.system.use_online_access = False
    settings = bpy.context.scene.facecast
    settings.engine, settings.seed = "LOCAL", params.get("seed", 0)
    from facecast_blender.inprocess import default_local_animator, local_animators, local_report

    out = {"default": default_local_animator(), "report": local_report(), "local_animators": local_animators()}
    out["op"] = run_op(bpy.ops.facecast.bake)
    out["curves"] = shape_key_curves(head)
    settings.animator = "energy"
    out["energy_op"] = run_op(bpy.ops.facecast.bake)
    out["energy_curves"] = shape_key_curves(head)
    settings.animator = "phonetic"
    out["refused"] = run_op(bpy.ops.facecast.bake)
    out["online"] = bool(getattr(bpy.app, "online_access", True))
    out["soxr_loaded"] = "soxr" in _sys.modules
    out["onnxruntime_file"] = getattr(_sys.modules.get("onnxruntime"), "__file__", None)
    return out


def check_install(params: dict) -> dict:
    """Install the built zip with Blender's own extension installer (BLENDER_USER_RESOURCES is a temp dir)."""
    scene = fresh_scene()
    done = run_op(bpy.ops.extensions.package_install_files, filepath=params["zip"], repo="user_default",
                  enable_on_install=True)
    import facecast as installed_facecast

    out = {"op": done, "addons": sorted(bpy.context.preferences.addons.keys()),
           "registered": hasattr(bpy.types.Scene, "facecast"), "facecast_file": installed_facecast.__file__}
    bpy.ops.facecast.add_test_head()
    scene.facecast.address, scene.facecast.audio_path = params["address"], params["audio"]
    out["bake"] = run_op(bpy.ops.facecast.bake)
    # Run = In Blender from the installed extension: Online Access off, no daemon at the address, the default
    # animator (the learned model, from the extension's own facecast wheel and its ONNX weights)
    import importlib

    inprocess = importlib.import_module("bl_ext.user_default.facecast.inprocess")
    bpy.context.preferences.system.use_online_access = False
    scene.facecast.engine, scene.facecast.address = "LOCAL", "127.0.0.1:1"
    out["local_default"] = inprocess.default_local_animator()
    out["local_bake"] = run_op(bpy.ops.facecast.bake)
    apply = importlib.import_module("bl_ext.user_default.facecast.apply")
    (jaw,) = [c for c in apply.baked_fcurves(bpy.context.active_object.data.shape_keys) if '"JawOpen"' in c.data_path]
    co = [0.0] * (2 * len(jaw.keyframe_points))
    jaw.keyframe_points.foreach_get("co", co)
    out["local_jaw"] = [co[0::2], co[1::2]]
    out["neural_file"] = getattr(sys.modules.get("facecast.animators.neural"), "__file__", None)
    out["onnxruntime_file"] = getattr(sys.modules.get("onnxruntime"), "__file__", None)
    return out


if __name__ == "__main__":
    check, params_path, result_path = sys.argv[1:4]
    with open(params_path, encoding="utf-8") as f:
        result = globals()[f"check_{check}"](json.load(f))
    with open(result_path, "w", encoding="utf-8") as f:
        json.dump(result, f)
    # bpy 4.2 module builds crash at interpreter exit once Python property callbacks were registered (even
    # after unregistering; real Blender and bpy 5.x do not): the result is written, so leave without cleanup
    sys.stdout.flush()
    os._exit(0)
