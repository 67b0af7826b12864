"""A generated Character Creator 4 style rig, for the bake test and the docs picture (runs inside Blender).

Not Reallusion's asset (it cannot be shipped): facecast's test head rebuilt with CC4's names and structure,
so nothing in it says "ARKit":

- mesh ``CC_Base_Body`` with CC4 Extended shape keys (``Jaw_Open``, ``Mouth_Smile_L``, ...; see
  ``facecast.character.rig_mapping``), where CC4 splits one ARKit shape into parts (``Mouth_Pucker_Up_L`` ...) the
  ARKit displacement is split between them by soft side/upper-lower masks that sum to one, so the parts driven
  together give the ARKit shape;
- armature ``CC_Base_BoneRoot`` with bones ``CC_Base_Head`` (from the neck pivot, up) and ``CC_Base_L_Eye`` /
  ``CC_Base_R_Eye`` (at the eye centres, pointing forward); the body is skinned to the head bone, the eye
  meshes are parented to the eye bones.
"""

from __future__ import annotations

import bpy
import numpy as np

from facecast.character.rig_mapping import mapping_for
from facecast.character.testhead import HEAD_CENTRE_Y, build_test_head

HEAD_BONE, LEFT_EYE_BONE, RIGHT_EYE_BONE = "CC_Base_Head", "CC_Base_L_Eye", "CC_Base_R_Eye"
ARKIT_TO_BLENDER = np.array(((1.0, 0.0, 0.0), (0.0, 0.0, -1.0), (0.0, 1.0, 0.0)))
LIP_LINE_Y = HEAD_CENTRE_Y - 0.045  # the test head's mouth line (ARKit y, metres above the neck pivot)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def part_weights(names: tuple[str, ...], positions: np.ndarray) -> np.ndarray:
    """Per-vertex shares [len(names), V] of one ARKit displacement among CC4's parts (summing to one)."""
    if len(names) == 1:
        return np.ones((1, len(positions)))
    x, y = positions[:, 0], positions[:, 1]
    shares = []
    for name in names:
        share = np.ones(len(positions))
        if name.endswith("_L"):
            share *= _sigmoid(x / 0.004)  # the character's left is +x
        elif name.endswith("_R"):
            share *= _sigmoid(-x / 0.004)
        if "_Up" in name or "Upper" in name:
            share *= _sigmoid((y - LIP_LINE_Y) / 0.003)
        elif "_Down" in name or "Lower" in name:
            share *= _sigmoid(-(y - LIP_LINE_Y) / 0.003)
        shares.append(share)
    stacked = np.array(shares)
    return stacked / stacked.sum(axis=0, keepdims=True)


def _mesh_object(name: str, positions: np.ndarray, indices: np.ndarray,
                 colors: np.ndarray | None) -> bpy.types.Object:
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata((positions @ ARKIT_TO_BLENDER.T).tolist(), [], indices.reshape(-1, 3).tolist())
    mesh.shade_smooth()
    if colors is not None:  # stands in for CC4's skin and eye textures in Workbench renders
        rgba = np.ones((len(positions), 4), np.float32)
        rgba[:, :3] = colors
        mesh.color_attributes.new("Col", "FLOAT_COLOR", "POINT").data.foreach_set("color", rgba.ravel())
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.collection.objects.link(obj)
    return obj


def add_cc4_rig() -> tuple[bpy.types.Object, bpy.types.Object]:
    """Link the rig into the scene; returns ``(body mesh, armature)`` with the body active."""
    head = build_test_head()
    base = np.asarray(head.mesh.positions, np.float64)
    body = _mesh_object("CC_Base_Body", base, head.mesh.indices, head.mesh.colors)
    material = bpy.data.materials.new("Std_Skin_Head")
    material.diffuse_color = (0.86, 0.62, 0.5, 1.0)
    body.data.materials.append(material)
    body.shape_key_add(name="Basis", from_mix=False)
    for arkit, names in mapping_for("cc4").items():
        shares = part_weights(names, base)
        for name, share in zip(names, shares, strict=True):
            key = body.shape_key_add(name=name, from_mix=False)
            moved = base + head.targets[arkit] * share[:, None]
            key.data.foreach_set("co", (moved @ ARKIT_TO_BLENDER.T).ravel())
            key.value = 0.0

    armature = bpy.data.objects.new("CC_Base_BoneRoot", bpy.data.armatures.new("CC_Base_BoneRoot"))
    bpy.context.collection.objects.link(armature)
    bpy.context.view_layer.objects.active = armature
    bpy.ops.object.mode_set(mode="EDIT")
    bone = armature.data.edit_bones.new(HEAD_BONE)
    bone.head, bone.tail = (0.0, 0.0, 0.0), (0.0, 0.0, 0.2)
    for eye, name in zip(head.eyes, (LEFT_EYE_BONE, RIGHT_EYE_BONE), strict=True):
        centre = np.asarray(eye.translation) @ ARKIT_TO_BLENDER.T
        eye_bone = armature.data.edit_bones.new(name)
        eye_bone.head, eye_bone.tail = tuple(centre), tuple(centre + np.array([0.0, -0.02, 0.0]))
        eye_bone.parent = bone
    bpy.ops.object.mode_set(mode="OBJECT")
    for pose_bone in armature.pose.bones:
        pose_bone.rotation_mode = "QUATERNION"

    group = body.vertex_groups.new(name=HEAD_BONE)
    group.add(list(range(len(base))), 1.0, "REPLACE")
    body.modifiers.new("Armature", "ARMATURE").object = armature
    body.parent = armature
    for eye, name in zip(head.eyes, (LEFT_EYE_BONE, RIGHT_EYE_BONE), strict=True):
        ball = _mesh_object(f"CC_Base_Eye_{name[-5]}", np.asarray(eye.mesh.positions, np.float64)
                            + np.asarray(eye.translation), eye.mesh.indices, eye.mesh.colors)
        world = ball.matrix_world.copy()
        ball.parent, ball.parent_type, ball.parent_bone = armature, "BONE", name
        ball.matrix_world = world
    for obj in bpy.context.view_layer.objects:
        obj.select_set(False)
    body.select_set(True)
    bpy.context.view_layer.objects.active = body
    return body, armature
