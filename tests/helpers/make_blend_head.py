"""Runs inside Blender: save a tiny .blend "user head" whose shape keys use Character Creator names.

Usage: python make_blend_head.py OUT.blend  (shape keys: Basis, Jaw_Open, Mouth_Smile_L, Extra_Shape)
"""

import sys

import bpy

bpy.ops.wm.read_factory_settings(use_empty=True)
bpy.ops.mesh.primitive_uv_sphere_add(radius=0.1)
head = bpy.context.active_object
head.name = "CC_Base_Body"
head.shape_key_add(name="Basis")
for i, name in enumerate(("Jaw_Open", "Mouth_Smile_L", "Extra_Shape")):
    key = head.shape_key_add(name=name)
    key.data[i].co.z += 0.01
    key.value = 0.0  # new shape keys start at 1.0 in recent Blenders
bpy.ops.wm.save_as_mainfile(filepath=sys.argv[-1])
