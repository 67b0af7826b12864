"""Writing a take into Blender (main thread only): new actions, F-curves, rotations and the sound strip.

Every bake creates NEW actions and assigns them; an action the target had before keeps a fake user, so it is
never lost and can be assigned back. Keyframes go in with ``foreach_set``, never one ``keyframe_insert`` per
key, so a minute of animation bakes in a fraction of a second. Works with Blender 4.2/4.3 actions
(``action.fcurves``) and 4.4+ layered actions (``fcurve_ensure_for_datablock``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import bpy
import numpy as np
from mathutils import Quaternion

from facecast.errors import InvalidInput
from facecast.motion import NUM_CHANNELS, MotionClip

from .keyframes import blender_quaternions, co_pairs, frame_numbers
from .rigmap import Plan

LINEAR = bpy.types.Keyframe.bl_rna.properties["interpolation"].enum_items["LINEAR"].value


@dataclass
class BakeResult:
    kept: list[str] = field(default_factory=list)  # names of earlier actions given a fake user
    keys: int = 0
    strip: object | None = None  # the sound strip (its type is Sequence before 4.4, Strip after)
    last_frame: float = 0.0
    # (datablock, its previous action, that action's fake-user flag, the new action): what undo_bake reverts
    assigned: list[tuple[bpy.types.ID, bpy.types.Action | None, bool, bpy.types.Action]] = field(default_factory=list)


def new_action(id_block: bpy.types.ID, name: str, result: BakeResult) -> bpy.types.Action:
    """A fresh action assigned to ``id_block``; the one it had keeps a fake user so it is not lost on save."""
    animation = id_block.animation_data or id_block.animation_data_create()
    previous = animation.action
    action = bpy.data.actions.new(name)
    result.assigned.append((id_block, previous, bool(previous and previous.use_fake_user), action))
    if previous is not None and not previous.use_fake_user:
        previous.use_fake_user = True
        result.kept.append(previous.name)
    animation.action = action
    return action


def undo_bake(scene: bpy.types.Scene, result: BakeResult) -> None:
    """Put back what a failed bake changed: earlier actions, fake-user flags; remove new actions and the strip."""
    for id_block, previous, fake_user, action in reversed(result.assigned):
        id_block.animation_data.action = previous
        if previous is not None:
            previous.use_fake_user = fake_user
        bpy.data.actions.remove(action)
    if result.strip is not None:
        editor = scene.sequence_editor
        (editor.strips if hasattr(editor, "strips") else editor.sequences).remove(result.strip)


def write_curve(action: bpy.types.Action, id_block: bpy.types.ID, data_path: str, index: int, group: str,
                frames: np.ndarray, values: np.ndarray) -> int:
    """One F-curve with linear keys at ``frames``; returns the number of keys written."""
    if hasattr(action, "fcurve_ensure_for_datablock"):  # Blender 4.4+: layered actions with slots
        curve = action.fcurve_ensure_for_datablock(id_block, data_path, index=index, group_name=group)
    else:
        curve = action.fcurves.new(data_path, index=index, action_group=group)
    curve.keyframe_points.add(len(frames))
    curve.keyframe_points.foreach_set("co", co_pairs(frames, values))
    curve.keyframe_points.foreach_set("interpolation", np.full(len(frames), LINEAR, np.int32))
    curve.update()
    return len(frames)


def bake_shape_keys(obj: bpy.types.Object, clip: MotionClip, plan: Plan, frames: np.ndarray,
                    result: BakeResult) -> None:
    key = obj.data.shape_keys
    action = new_action(key, f"{obj.name} Facecast Face", result)
    for channel, name in plan.bindings:
        result.keys += write_curve(action, key, f'key_blocks["{bpy.utils.escape_identifier(name)}"].value', 0,
                                   "Facecast", frames, clip.values[:, channel])


def rotation_owner(target: bpy.types.Object, bone_name: str) -> tuple[bpy.types.bpy_struct, str, str]:
    """The object or pose bone a joint turns, its data-path prefix and F-curve group; checks it can be keyed."""
    if bone_name:
        if target.type != "ARMATURE" or bone_name not in target.pose.bones:
            raise InvalidInput(f"{target.name} has no bone named {bone_name!r}")
        owner = target.pose.bones[bone_name]
        prefix, group = f'pose.bones["{bpy.utils.escape_identifier(bone_name)}"].', bone_name
    else:
        owner, prefix, group = target, "", "Object Transforms"
    if owner.rotation_mode == "AXIS_ANGLE":
        raise InvalidInput(f"{group if bone_name else target.name} uses axis-angle rotation; set its rotation mode "
                           "to Quaternion or an Euler order")
    return owner, prefix, group


def local_rotations(target: bpy.types.Object, bone_name: str, quats: np.ndarray) -> tuple[str, np.ndarray, str]:
    """The keyed property, per-frame values and F-curve group for a joint rotation on an object or a bone.

    ``quats`` (w, x, y, z) are rotations in Blender's axes relative to rest. An object keeps its current
    rotation as the rest pose; a pose bone's rotation is taken into the bone's own frame.
    """
    owner, prefix, group = rotation_owner(target, bone_name)
    if bone_name:
        rest = target.data.bones[bone_name].matrix_local.to_quaternion()
        turn = [rest.inverted() @ Quaternion(q) @ rest for q in quats]
    else:
        base = target.matrix_basis.to_quaternion()
        turn = [Quaternion(q) @ base for q in quats]
    if owner.rotation_mode == "QUATERNION":
        return prefix + "rotation_quaternion", np.array([tuple(q) for q in turn]), group
    eulers = [turn[0].to_euler(owner.rotation_mode)] if turn else []
    for q in turn[1:]:  # each euler stays compatible with the previous one, so curves do not jump by 2 pi
        eulers.append(q.to_euler(owner.rotation_mode, eulers[-1]))
    return prefix + "rotation_euler", np.array([tuple(e) for e in eulers]), group


def bake_rotation(target: bpy.types.Object, bone_name: str, clip: MotionClip, joint: str, frames: np.ndarray,
                  actions: dict[str, bpy.types.Action], result: BakeResult) -> None:
    """Key one joint (``Head``, ``LeftEye``, ``RightEye``); joints on the same object share its new action."""
    path, values, group = local_rotations(target, bone_name, blender_quaternions(clip, joint))
    action = actions.get(target.name)
    if action is None:
        action = actions[target.name] = new_action(target, f"{target.name} Facecast Motion", result)
    for index in range(values.shape[1]):
        result.keys += write_curve(action, target, path, index, group, frames, values[:, index])


def free_channel(scene: bpy.types.Scene, start: float, end: float) -> int:
    """The lowest sequencer channel with no strip overlapping ``[start, end]``."""
    editor = scene.sequence_editor
    strips = editor.strips_all if hasattr(editor, "strips_all") else editor.sequences_all
    busy = {s.channel for s in strips if s.frame_final_start < end and s.frame_final_end > start}
    return next(c for c in range(1, 129) if c not in busy)


def add_sound_strip(scene: bpy.types.Scene, path: str, frame: int, duration_frames: float):
    """A sound strip of ``path`` starting at ``frame`` on a free channel."""
    editor = scene.sequence_editor or scene.sequence_editor_create()
    strips = editor.strips if hasattr(editor, "strips") else editor.sequences
    channel = free_channel(scene, frame, frame + duration_frames)
    name = bpy.path.display_name_from_filepath(path) or "Facecast audio"
    try:
        return strips.new_sound(name, path, channel, frame)
    except RuntimeError as e:  # e.g. a Blender built without audio support, an unreadable file
        raise InvalidInput(f"cannot add {os.path.basename(path)} as a sound strip: "
                           f"{str(e).strip().removeprefix('Error: ')}") from None


def bake_clip(scene: bpy.types.Scene, obj: bpy.types.Object, clip: MotionClip, plan: Plan, start_frame: int,
              joints: list[tuple[bpy.types.Object, str, str]], audio_path: str | None) -> BakeResult:
    """Key ``clip`` onto ``obj``'s shape keys and the ``(target, bone, joint)`` rotations from ``start_frame``.

    Adds ``audio_path`` as a sound strip at ``start_frame`` when given; extends the scene's end frame to the
    take. Targets are checked before the first write, and any later failure is rolled back (:func:`undo_bake`),
    so an error leaves the scene as it was.
    """
    scene_fps = scene.render.fps / scene.render.fps_base
    frames = frame_numbers(clip.num_frames, clip.fps, scene_fps, start_frame)
    for target, bone, _ in joints:
        rotation_owner(target, bone)
    result = BakeResult(last_frame=float(frames[-1]) if len(frames) else float(start_frame))
    try:
        if audio_path:
            result.strip = add_sound_strip(scene, audio_path, start_frame, clip.duration * scene_fps)
        bake_shape_keys(obj, clip, plan, frames, result)
        actions: dict[str, bpy.types.Action] = {}
        for target, bone, joint in joints:
            bake_rotation(target, bone, clip, joint, frames, actions, result)
    except Exception:
        undo_bake(scene, result)  # nothing half-written, whatever failed
        raise
    if scene.frame_end < result.last_frame:
        scene.frame_end = int(np.ceil(result.last_frame))
    return result


def fcurves(id_block: bpy.types.ID) -> list[bpy.types.FCurve]:
    """The F-curves of the action assigned to ``id_block`` (its own slot's, with 4.4+ layered actions)."""
    animation = id_block.animation_data
    action = animation.action if animation else None
    if action is None:
        return []
    if getattr(action, "is_action_layered", False):
        slot = animation.action_slot
        return [curve for layer in action.layers for strip in layer.strips
                if (bag := strip.channelbag(slot)) is not None for curve in bag.fcurves]
    return list(action.fcurves)


def sample_shape_keys(obj: bpy.types.Object, plan: Plan, fps: int, scene_fps: float) -> tuple[float, np.ndarray]:
    """Evaluate the keyed shape keys at ``fps`` over their keyed range: ``(first frame, values [T, 61])``.

    Channels without a curve stay 0; when several keys are bound to one channel the first one is read.
    """
    key = obj.data.shape_keys
    curves = {curve.data_path: curve for curve in fcurves(key) if curve.array_index == 0}
    bound: dict[int, bpy.types.FCurve] = {}
    for channel, name in plan.bindings:
        curve = curves.get(f'key_blocks["{bpy.utils.escape_identifier(name)}"].value')
        if curve is not None and channel not in bound:
            bound[channel] = curve
    if not bound:
        raise InvalidInput(f"{obj.name}'s shape keys have no animation to export")
    first = min(c.range()[0] for c in bound.values())
    last = max(c.range()[1] for c in bound.values())
    frames = first + np.arange(int(np.floor((last - first) * fps / scene_fps + 1e-6)) + 1) * (scene_fps / fps)
    values = np.zeros((len(frames), NUM_CHANNELS), np.float32)
    for channel, curve in bound.items():
        values[:, channel] = [curve.evaluate(f) for f in frames]
    return float(first), values
