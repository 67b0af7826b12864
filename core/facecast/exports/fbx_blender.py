"""Runs INSIDE Blender (``blender --background --python`` or a ``bpy`` venv's Python): builds or loads a head,
keys its shape keys and head/eye rotations from a job file, and exports FBX with Blender's own exporter.

It imports only bpy, mathutils and numpy (a stock Blender has nothing else), so facecast prepares everything
in the job: ``job.json`` names an ``.npz`` with the curves (and the test head mesh) and the output path.
Usage: ``python fbx_blender.py JOB.json`` or ``blender -b --factory-startup --python fbx_blender.py -- JOB.json``.
"""

from __future__ import annotations

import json
import re
import sys

import bpy
import numpy as np
from mathutils import Matrix, Quaternion

# glTF / ARKit frame (+Y up, +Z towards the viewer) to Blender's (+Z up, -Y towards the viewer).
GLTF_TO_BLENDER = Matrix(((1, 0, 0), (0, 0, -1), (0, 1, 0)))


def normalize(name: str) -> str:
    """Same key as facecast.character.rig_mapping.normalize (this script cannot import facecast inside Blender)."""
    return re.sub(r"[\s_.\-]+", "", name).lower()


def to_blender(points: np.ndarray) -> np.ndarray:
    return np.asarray(points, np.float64) @ np.asarray(GLTF_TO_BLENDER).T


def set_timeline(fps: int, frames: int) -> None:
    scene = bpy.context.scene
    scene.render.fps = fps
    scene.render.fps_base = 1.0
    scene.frame_start = 0
    scene.frame_end = max(frames - 1, 0)


def mesh_object(name: str, positions: np.ndarray, indices: np.ndarray, colors: np.ndarray) -> bpy.types.Object:
    mesh = bpy.data.meshes.new(name)
    mesh.from_pydata(to_blender(positions).tolist(), [], np.asarray(indices).reshape(-1, 3).tolist())
    color = mesh.color_attributes.new("Color", "FLOAT_COLOR", "POINT")
    color.data.foreach_set("color", np.hstack([colors, np.ones((len(colors), 1))]).ravel())
    mesh.update()
    obj = bpy.data.objects.new(name, mesh)
    bpy.context.scene.collection.objects.link(obj)
    return obj


def build_test_head(data: dict) -> tuple[list[bpy.types.Object], bpy.types.Object]:
    """The ARKit test head as an armature (Head, LeftEye, RightEye bones) with skinned meshes."""
    armature = bpy.data.objects.new("FacecastRig", bpy.data.armatures.new("FacecastRig"))
    bpy.context.scene.collection.objects.link(armature)
    bpy.context.view_layer.objects.active = armature
    bpy.ops.object.mode_set(mode="EDIT")
    head_bone = armature.data.edit_bones.new("Head")
    head_bone.head, head_bone.tail = (0, 0, 0), (0, 0, 0.1)
    for i, eye in enumerate(("LeftEye", "RightEye")):
        bone = armature.data.edit_bones.new(eye)
        centre = to_blender(data["eye_translations"][i][None])[0]
        bone.head, bone.tail = centre, centre + np.array([0.0, -0.02, 0.0])  # pointing out of the face
        bone.parent = head_bone
    bpy.ops.object.mode_set(mode="OBJECT")
    face = mesh_object("FacecastHead", data["head_positions"], data["head_indices"], data["head_colors"])
    meshes = [face]
    for i, eye in enumerate(("LeftEye", "RightEye")):
        meshes.append(mesh_object(f"{eye}Mesh", data["eye_positions"] + data["eye_translations"][i],
                                  data["eye_indices"], data["eye_colors"]))
    for obj, bone in zip(meshes, ("Head", "LeftEye", "RightEye"), strict=True):
        group = obj.vertex_groups.new(name=bone)
        group.add(list(range(len(obj.data.vertices))), 1.0, "REPLACE")
        obj.parent = armature
        obj.modifiers.new("Armature", "ARMATURE").object = armature
    face.shape_key_add(name="Basis", from_mix=False)
    base = to_blender(data["head_positions"])
    for name, delta in zip(data["target_names"], data["target_deltas"], strict=True):
        key = face.shape_key_add(name=str(name), from_mix=False)
        key.data.foreach_set("co", (base + to_blender(delta)).ravel())
    return meshes, armature


def load_user_head(path: str) -> tuple[list[bpy.types.Object], bpy.types.Object | None]:
    if path.lower().endswith(".blend"):
        bpy.ops.wm.open_mainfile(filepath=path)
    else:
        bpy.ops.import_scene.fbx(filepath=path)
    meshes = [o for o in bpy.context.scene.objects if o.type == "MESH" and o.data.shape_keys]
    armature = next((o for o in bpy.context.scene.objects if o.type == "ARMATURE"), None)
    for animated in [m.data.shape_keys for m in meshes] + ([armature] if armature else []):
        animated.animation_data_clear()  # the take replaces whatever animation the head came with
    return meshes, armature


def key_shapes(meshes: list[bpy.types.Object], lookup: dict[str, int], frames: list[np.ndarray],
               weights: list[np.ndarray]) -> tuple[int, list[str]]:
    """Key every shape key whose name the lookup knows; returns (keys matched, names left unmapped)."""
    matched, unmapped = 0, []
    for obj in meshes:
        if obj.data.shape_keys is None:
            continue
        for key in obj.data.shape_keys.key_blocks[1:]:
            column = lookup.get(normalize(key.name))
            if column is None:
                unmapped.append(key.name)
                continue
            matched += 1
            key.slider_min, key.slider_max = 0.0, 1.0
            for frame, value in zip(frames[column], weights[column], strict=True):
                key.value = float(value)
                key.keyframe_insert("value", frame=float(frame))
    return matched, unmapped


def key_rotations(armature: bpy.types.Object, bone_names: dict[str, list[str]], frames: list[np.ndarray],
                  rotations: list[np.ndarray]) -> None:
    """Key pose-bone rotations; ``rotations`` are (w, x, y, z) in the glTF frame, converted to each bone's space."""
    for joint, candidates, joint_frames, quats in zip(bone_names, bone_names.values(), frames, rotations,
                                                       strict=True):
        bone = next((b for b in armature.pose.bones if normalize(b.name) in candidates), None)
        if bone is None:
            print(f"facecast: no {joint} bone; its rotations are left out", file=sys.stderr)
            continue
        rest = bone.bone.matrix_local.to_3x3()
        bone.rotation_mode = "QUATERNION"
        for frame, q in zip(joint_frames, quats, strict=True):
            world = GLTF_TO_BLENDER @ Quaternion(q).to_matrix() @ GLTF_TO_BLENDER.transposed()
            bone.rotation_quaternion = (rest.transposed() @ world @ rest).to_quaternion()
            bone.keyframe_insert("rotation_quaternion", frame=float(frame))


def main(job_path: str) -> None:
    with open(job_path, encoding="utf-8") as f:
        job = json.load(f)
    data = np.load(job["arrays"], allow_pickle=False)
    bpy.ops.wm.read_factory_settings(use_empty=True)
    if job.get("head"):
        meshes, armature = load_user_head(job["head"])
    else:
        meshes, armature = build_test_head(data)
    set_timeline(int(job["fps"]), int(job["frames"]))
    lookup = {normalize(name): column for name, column in job["lookup"].items()}
    weight_frames = [data[f"weight_frames_{i}"] for i in range(len(job["channels"]))]
    weights = [data[f"weights_{i}"] for i in range(len(job["channels"]))]
    matched, unmapped = key_shapes(meshes, lookup, weight_frames, weights)
    if not matched:
        sys.exit("facecast: no shape key of the head matches an ARKit name; choose another preset")
    if unmapped:
        print(f"facecast: {len(unmapped)} shape key(s) of the head match no ARKit channel and keep their value: "
              f"{', '.join(unmapped[:8])}", file=sys.stderr)
    if armature is not None:
        key_rotations(armature, job["bones"], [data[f"rotation_frames_{i}"] for i in range(3)],
                      [data[f"rotations_{i}"] for i in range(3)])
    bpy.ops.export_scene.fbx(filepath=job["output"], use_selection=False, object_types={"ARMATURE", "MESH"},
                             bake_anim=True, bake_anim_use_all_actions=False, bake_anim_use_nla_strips=False,
                             bake_anim_simplify_factor=0.0, add_leaf_bones=False, axis_forward="-Z", axis_up="Y")


if __name__ == "__main__":
    args = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    main(args[0])
