"""Writing a take into Blender (main thread only): region actions on NLA tracks, rotations, the sound strip.

A bake never writes over keys it did not make. Each enabled face region (:mod:`facecast_blender.regions`)
becomes a NEW action played by a strip on that region's NLA track (``Facecast Mouth & Jaw``, ...) of each
datablock it animates (the shape keys, the head and eye objects or armature). Blender evaluates the active
action above the NLA, so keys the user makes there (hand-keyed brows) always win, and re-baking one region
replaces only that region's strips where they overlap the new take; the replaced actions keep a fake user.
Blender 4.4+ gets one slotted action per region with a slot per datablock; 4.2/4.3 one action per datablock.
Keyframes go in with ``foreach_set``, never one ``keyframe_insert`` per key.
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
from .regions import JOINT_REGION, REGIONS, RegionSettings, all_regions, enabled, region_bindings, shaped_values
from .rigmap import Plan

LINEAR = bpy.types.Keyframe.bl_rna.properties["interpolation"].enum_items["LINEAR"].value
LAYERED = "slots" in bpy.types.Action.bl_rna.properties  # Blender 4.4+: slotted (layered) actions
TRACK_PREFIX = "Facecast "
REGION_LABEL = {name: label for name, label, _ in REGIONS}


@dataclass
class BakeResult:
    kept: list[str] = field(default_factory=list)  # earlier facecast actions whose strips were replaced
    keys: int = 0
    strip: object | None = None  # the sound strip (its type is Sequence before 4.4, Strip after)
    last_frame: float = 0.0
    actions: list[bpy.types.Action] = field(default_factory=list)  # new actions, removed again by undo_bake
    strips: list[tuple[bpy.types.NlaTrack, bpy.types.NlaStrip]] = field(default_factory=list)  # new NLA strips
    tracks: list[tuple[bpy.types.ID, bpy.types.NlaTrack]] = field(default_factory=list)  # tracks this bake made
    regions: list[str] = field(default_factory=list)


@dataclass
class _Curves:
    """The F-curves one datablock gets from one region: (data path, index, group, values per frame)."""

    id_block: bpy.types.ID
    curves: list[tuple[str, int, str, np.ndarray]] = field(default_factory=list)


def track_name(region: str) -> str:
    return TRACK_PREFIX + REGION_LABEL[region]


def undo_bake(scene: bpy.types.Scene, result: BakeResult) -> None:
    """Put back what a failed bake changed: its NLA strips and tracks, its actions, the sound strip."""
    for track, strip in reversed(result.strips):
        track.strips.remove(strip)
    for id_block, track in reversed(result.tracks):
        id_block.animation_data.nla_tracks.remove(track)
    for action in result.actions:
        bpy.data.actions.remove(action)
    if result.strip is not None:
        editor = scene.sequence_editor
        (editor.strips if hasattr(editor, "strips") else editor.sequences).remove(result.strip)


def _fill(curve: bpy.types.FCurve, frames: np.ndarray, values: np.ndarray) -> int:
    curve.keyframe_points.add(len(frames))
    curve.keyframe_points.foreach_set("co", co_pairs(frames, values))
    curve.keyframe_points.foreach_set("interpolation", np.full(len(frames), LINEAR, np.int32))
    curve.update()
    return len(frames)


def _region_action(name: str, clip: MotionClip, region: str, start_frame: int) -> bpy.types.Action:
    action = bpy.data.actions.new(name)
    action["facecast_fps"], action["facecast_region"], action["facecast_start"] = clip.fps, region, start_frame
    return action


def _write_action(action: bpy.types.Action, part: _Curves, frames: np.ndarray) -> tuple[object | None, int]:
    """Write ``part``'s curves into ``action`` (into a new slot for its datablock on 4.4+); (slot, keys)."""
    keys = 0
    if LAYERED:
        slot = action.slots.new(id_type=part.id_block.id_type, name=part.id_block.name)
        layer = action.layers[0] if action.layers else action.layers.new("Facecast")
        strip = layer.strips[0] if layer.strips else layer.strips.new(type="KEYFRAME")
        bag = strip.channelbags.new(slot)
        for path, index, group, values in part.curves:
            keys += _fill(bag.fcurves.new(path, index=index, group_name=group), frames, values)
        return slot, keys
    action.id_root = part.id_block.id_type
    for path, index, group, values in part.curves:
        keys += _fill(action.fcurves.new(path, index=index, action_group=group), frames, values)
    return None, keys


def _place_strip(part: _Curves, region: str, action: bpy.types.Action, slot: object | None, start: float,
                 end: float, result: BakeResult) -> None:
    """Play ``action`` on the region's NLA track of the datablock, first removing overlapping facecast strips."""
    animation = part.id_block.animation_data or part.id_block.animation_data_create()
    name = track_name(region)
    track = next((t for t in animation.nla_tracks if t.name == name), None)
    if track is None:
        track = animation.nla_tracks.new()
        track.name = name
        result.tracks.append((part.id_block, track))
    for old in [s for s in track.strips if s.frame_start < end and s.frame_end > start]:
        if old.action is not None and old.action.name not in result.kept:
            old.action.use_fake_user = True
            result.kept.append(old.action.name)
        track.strips.remove(old)
    strip = track.strips.new(action.name, int(start), action)
    if slot is not None:
        strip.action_slot = slot
    strip.blend_type = "REPLACE"
    result.strips.append((track, strip))
    ordered = sorted(track.strips, key=lambda s: s.frame_start)
    for index, each in enumerate(ordered):  # hold the take's ends as a single action did, never over a neighbour
        each.extrapolation = "HOLD" if index == 0 else "HOLD_FORWARD"


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


def rest_rotation(target: bpy.types.Object) -> Quaternion:
    """An object's rotation before its first facecast bake (stored on it then), so a re-bake does not add the
    animated rotation of the current frame to the new take's."""
    stored = target.get("facecast_rest_rotation")
    if stored is not None and len(stored) == 4:
        return Quaternion(tuple(stored))
    base = target.matrix_basis.to_quaternion()
    target["facecast_rest_rotation"] = tuple(base)
    return base


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
        base = rest_rotation(target)
        turn = [Quaternion(q) @ base for q in quats]
    if owner.rotation_mode == "QUATERNION":
        return prefix + "rotation_quaternion", np.array([tuple(q) for q in turn]), group
    eulers = [turn[0].to_euler(owner.rotation_mode)] if turn else []
    for q in turn[1:]:  # each euler stays compatible with the previous one, so curves do not jump by 2 pi
        eulers.append(q.to_euler(owner.rotation_mode, eulers[-1]))
    return prefix + "rotation_euler", np.array([tuple(e) for e in eulers]), group


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


def _region_parts(obj: bpy.types.Object, clip: MotionClip, plan: Plan, region: RegionSettings,
                  joints: list[tuple[bpy.types.Object, str, str]]) -> list[_Curves]:
    """What one region writes, per datablock: shape-key curves on the mesh's Key, rotations on joint owners."""
    values = shaped_values(clip.values, region)
    parts: list[_Curves] = []
    bindings = region_bindings(plan.bindings, region.name)
    if bindings:
        key = _Curves(obj.data.shape_keys)
        for channel, name in bindings:
            key.curves.append((f'key_blocks["{bpy.utils.escape_identifier(name)}"].value', 0, "Facecast",
                               values[:, channel]))
        parts.append(key)
    shaped = MotionClip(clip.fps, values)
    for target, bone, joint in joints:
        if JOINT_REGION[joint] != region.name:
            continue
        path, rotation, group = local_rotations(target, bone, blender_quaternions(shaped, joint))
        part = next((p for p in parts if p.id_block == target), None)
        if part is None:
            parts.append(part := _Curves(target))
        part.curves += [(path, i, group, rotation[:, i]) for i in range(rotation.shape[1])]
    return parts


def bake_clip(scene: bpy.types.Scene, obj: bpy.types.Object, clip: MotionClip, plan: Plan, start_frame: int,
              joints: list[tuple[bpy.types.Object, str, str]], audio_path: str | None,
              regions: list[RegionSettings] | None = None) -> BakeResult:
    """Key ``clip`` from ``start_frame`` onto ``obj``'s shape keys and the ``(target, bone, joint)`` rotations.

    Each enabled region of ``regions`` (default: all four at full strength, no smoothing) becomes a new action
    on its NLA track per datablock (see the module docstring). Adds ``audio_path`` as a sound strip at
    ``start_frame`` when given; extends the scene's end frame to the take. Targets are checked before the first
    write, and any later failure is rolled back (:func:`undo_bake`), so an error leaves the scene as it was.
    """
    chosen = enabled(regions if regions is not None else all_regions())
    scene_fps = scene.render.fps / scene.render.fps_base
    frames = frame_numbers(clip.num_frames, clip.fps, scene_fps, start_frame)
    for target, bone, _ in joints:
        rotation_owner(target, bone)
    last = float(frames[-1]) if len(frames) else float(start_frame)
    result = BakeResult(last_frame=last)
    try:
        if audio_path:
            result.strip = add_sound_strip(scene, audio_path, start_frame, clip.duration * scene_fps)
        planned = [(region, parts) for region in chosen if (parts := _region_parts(obj, clip, plan, region, joints))]
        for region, parts in planned:  # everything that can refuse has run: now write
            result.regions.append(region.name)
            action = None
            for part in parts:
                if action is None or not LAYERED:
                    label = obj.name if LAYERED or part.id_block == obj.data.shape_keys else part.id_block.name
                    action = _region_action(f"{label} Facecast {REGION_LABEL[region.name]}", clip, region.name,
                                            start_frame)
                    result.actions.append(action)
                slot, keys = _write_action(action, part, frames)
                result.keys += keys
                _place_strip(part, region.name, action, slot, float(start_frame), max(last, start_frame + 1.0),
                             result)
    except Exception:
        undo_bake(scene, result)  # nothing half-written, whatever failed
        raise
    if scene.frame_end < result.last_frame:
        scene.frame_end = int(np.ceil(result.last_frame))
    return result


def action_curves(action: bpy.types.Action, slot: object | None) -> list[bpy.types.FCurve]:
    """The F-curves ``action`` holds for ``slot`` (4.4+ layered actions), or all of a legacy action's."""
    if getattr(action, "is_action_layered", False):
        return [curve for layer in action.layers for strip in layer.strips
                if slot is not None and (bag := strip.channelbag(slot)) is not None for curve in bag.fcurves]
    return list(action.fcurves)


def fcurves(id_block: bpy.types.ID) -> list[bpy.types.FCurve]:
    """The F-curves of the action assigned to ``id_block`` (the user's keys; facecast bakes go to the NLA)."""
    animation = id_block.animation_data
    action = animation.action if animation else None
    if action is None:
        return []
    return action_curves(action, getattr(animation, "action_slot", None))


def baked_strips(id_block: bpy.types.ID) -> list[bpy.types.NlaStrip]:
    """The strips of ``id_block``'s facecast NLA tracks (unmuted), in track order and time."""
    animation = id_block.animation_data
    if animation is None:
        return []
    return [strip for track in animation.nla_tracks if track.name.startswith(TRACK_PREFIX) and not track.mute
            for strip in sorted(track.strips, key=lambda s: s.frame_start) if strip.action is not None]


def baked_fcurves(id_block: bpy.types.ID) -> list[bpy.types.FCurve]:
    """The F-curves facecast baked for ``id_block`` (through its NLA strips' actions and slots)."""
    return [curve for strip in baked_strips(id_block)
            for curve in action_curves(strip.action, getattr(strip, "action_slot", None))]


def take_fps(id_block: bpy.types.ID) -> int | None:
    """The frame rate of the newest facecast take on ``id_block`` (its strip action records it), or None."""
    rates = [int(strip.action["facecast_fps"]) for strip in baked_strips(id_block) if "facecast_fps" in strip.action]
    return rates[-1] if rates else None


def sample_shape_keys(obj: bpy.types.Object, plan: Plan, fps: float, scene_fps: float) -> tuple[float, np.ndarray]:
    """The shape keys as the scene plays them (facecast strips, then the user's keys above), sampled at ``fps``
    over their animated range: ``(first frame, values [T, 61])``.

    Channels nothing animates stay 0; when several keys are bound to one channel the first one is read.
    """
    key = obj.data.shape_keys
    curves = [c for c in baked_fcurves(key) + fcurves(key) if c.array_index == 0]
    animated = {c.data_path for c in curves}
    bound: dict[int, str] = {}
    for channel, name in plan.bindings:
        if f'key_blocks["{bpy.utils.escape_identifier(name)}"].value' in animated and channel not in bound:
            bound[channel] = name
    if not bound:
        raise InvalidInput(f"{obj.name}'s shape keys have no animation to export")
    paths = {f'key_blocks["{bpy.utils.escape_identifier(name)}"].value' for name in bound.values()}
    ranges = [c.range() for c in curves if c.data_path in paths]
    first, last = min(r[0] for r in ranges), max(r[1] for r in ranges)
    frames = first + np.arange(int(np.floor((last - first) * fps / scene_fps + 1e-6)) + 1) * (scene_fps / fps)
    values = np.zeros((len(frames), NUM_CHANNELS), np.float32)
    scene = bpy.context.scene
    current = scene.frame_current, scene.frame_subframe
    try:
        for row, frame in enumerate(frames):
            whole = int(np.floor(frame + 1e-6))
            scene.frame_set(whole, subframe=max(0.0, float(frame - whole)))
            for channel, name in bound.items():
                values[row, channel] = key.key_blocks[name].value
    finally:
        scene.frame_set(current[0], subframe=current[1])
    return float(first), values
