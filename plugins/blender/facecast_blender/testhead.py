"""'Add ARKit test head': facecast's procedural head (52 ARKit shape keys) and two eye objects, in Blender.

The mesh and its morph targets come from :mod:`facecast.character.testhead` (numpy, shared with the glTF, USD
and FBX exports); this module only turns them into a Blender mesh with shape keys, in Blender's axes.
"""

from __future__ import annotations

import bpy
import numpy as np

from facecast.character.testhead import SKIN_COLOR, MeshData, build_test_head

from .keyframes import ARKIT_TO_BLENDER

EYE_COLOR = (0.95, 0.95, 0.93)
COLOR_ATTRIBUTE = "Color"


def _material(name: str, color: tuple[float, float, float]) -> bpy.types.Material:
    """Solid mode shows ``color``; rendered and Material Preview shading use the mesh's colour attribute."""
    material = bpy.data.materials.new(name)
    material.diffuse_color = (*color, 1.0)
    material.use_nodes = True
    nodes = material.node_tree.nodes
    attribute = nodes.new("ShaderNodeAttribute")
    attribute.attribute_name = COLOR_ATTRIBUTE
    material.node_tree.links.new(attribute.outputs["Color"], nodes["Principled BSDF"].inputs["Base Color"])
    return material


def _mesh(name: str, data: MeshData, color: tuple[float, float, float]) -> bpy.types.Mesh:
    mesh = bpy.data.meshes.new(name)
    positions = np.asarray(data.positions, np.float64) @ ARKIT_TO_BLENDER.T
    mesh.from_pydata(positions.tolist(), [], np.asarray(data.indices).reshape(-1, 3).tolist())
    mesh.shade_smooth()
    if data.colors is not None:  # lips, brows, irises: linear vertex colours, as glTF and USD get them
        rgba = np.ones((len(positions), 4), np.float32)
        rgba[:, :3] = data.colors
        attribute = mesh.color_attributes.new(COLOR_ATTRIBUTE, "FLOAT_COLOR", "POINT")
        attribute.data.foreach_set("color", rgba.ravel())
        mesh.color_attributes.active_color = attribute
    mesh.materials.append(_material(f"{name} Material", color))
    mesh.update()
    return mesh


def add_test_head(context: bpy.types.Context, location=(0.0, 0.0, 0.0)) -> bpy.types.Object:
    """Link the test head (selected and active) and its eyes into the active collection; returns the head."""
    head = build_test_head()
    collection = context.collection
    head_obj = bpy.data.objects.new("FacecastHead", _mesh("FacecastHead", head.mesh, SKIN_COLOR))
    head_obj.location = location
    collection.objects.link(head_obj)
    head_obj.shape_key_add(name="Basis", from_mix=False)
    base = np.asarray(head.mesh.positions, np.float64) @ ARKIT_TO_BLENDER.T
    for name, delta in head.targets.items():
        key = head_obj.shape_key_add(name=name, from_mix=False)
        key.data.foreach_set("co", (base + np.asarray(delta, np.float64) @ ARKIT_TO_BLENDER.T).ravel())
        key.value = 0.0  # new keys start fully on; the head must start neutral
    for eye in head.eyes:
        eye_obj = bpy.data.objects.new(eye.name, _mesh(eye.name, eye.mesh, EYE_COLOR))
        eye_obj.location = np.asarray(eye.translation) @ ARKIT_TO_BLENDER.T
        eye_obj.parent = head_obj
        collection.objects.link(eye_obj)
    for obj in context.view_layer.objects:
        obj.select_set(False)
    head_obj.select_set(True)
    context.view_layer.objects.active = head_obj
    return head_obj
