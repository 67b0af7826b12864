"""Runs inside Blender: import an FBX with Blender's importer and print its shape-key curves as JSON.

Usage: python fbx_read_shape_keys.py FILE.fbx  ->  {"fps": 30, "curves": {"JawOpen": [[frame, value], ...]}}
"""

import json
import sys

import bpy

bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.import_scene.fbx(filepath=sys.argv[-1], anim_offset=0.0)  # keep frame 0 at frame 0
curves = {}
for obj in bpy.context.scene.objects:
    keys = obj.data.shape_keys if obj.type == "MESH" else None
    if keys is None or keys.animation_data is None or keys.animation_data.action is None:
        continue
    action = keys.animation_data.action
    fcurves = action.fcurves if hasattr(action, "fcurves") else [
        c for layer in action.layers for strip in layer.strips for bag in strip.channelbags for c in bag.fcurves]
    for fcurve in fcurves:
        name = fcurve.data_path.split('"')[1]
        curves[name] = [list(p.co) for p in fcurve.keyframe_points]
bones = [b.name for o in bpy.context.scene.objects if o.type == "ARMATURE" for b in o.data.bones]
print("RESULT " + json.dumps({"fps": bpy.context.scene.render.fps, "curves": curves, "bones": bones}))
