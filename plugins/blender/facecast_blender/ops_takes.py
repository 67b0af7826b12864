"""Live Link Face CSV takes in and out, the ARKit test head, and the mapping-table helpers."""

from __future__ import annotations

import bpy
from bpy_extras.io_utils import ExportHelper, ImportHelper

from facecast.errors import FacecastError
from facecast.exports.livelink_csv import read_csv, write_csv
from facecast.motion import MotionClip

from . import request
from .apply import bake_clip, sample_shape_keys, take_fps
from .props import clip_fps, fill_mapping, scene_fps
from .rigmap import best_preset
from .testhead import add_test_head


class FACECAST_OT_import_csv(ImportHelper, bpy.types.Operator):
    """Key a Live Link Face CSV take onto the active object from the current frame (into a new action)"""

    bl_idname = "facecast.import_csv"
    bl_label = "Import Live Link Face CSV"
    bl_options = {"REGISTER", "UNDO"}
    filename_ext = ".csv"
    filter_glob: bpy.props.StringProperty(default="*.csv", options={"HIDDEN"})

    def execute(self, context):
        settings = context.scene.facecast
        try:
            target = request.target(context, settings)
            clip = read_csv(self.filepath)
            bake_clip(context.scene, target.obj, clip, target.plan, context.scene.frame_current, target.joints, None)
        except FacecastError as e:
            self.report({"ERROR"}, f"Facecast: {e}")
            return {"CANCELLED"}
        if warning := target.plan.warning():
            self.report({"WARNING"}, warning)
        self.report({"INFO"}, f"Imported {clip.num_frames} frames at {clip.fps} fps onto {target.obj.name}")
        return {"FINISHED"}


class FACECAST_OT_export_csv(ExportHelper, bpy.types.Operator):
    """Write the active object's shape keys as they play (facecast strips and your keys) as a Live Link Face CSV
    take (blendshapes only), at the take's own frame rate"""

    bl_idname = "facecast.export_csv"
    bl_label = "Export Live Link Face CSV"
    filename_ext = ".csv"
    filter_glob: bpy.props.StringProperty(default="*.csv", options={"HIDDEN"})
    resample: bpy.props.BoolProperty(name="Resample to FPS setting", default=False,
                                     description="Write at the panel's FPS setting instead of the baked take's own "
                                     "rate")

    def execute(self, context):
        scene, settings = context.scene, context.scene.facecast
        try:
            target = request.target(context, settings)
            own = take_fps(target.obj.data.shape_keys)
            fps = clip_fps(settings, scene) if self.resample or own is None else own
            first, values = sample_shape_keys(target.obj, target.plan, fps, scene_fps(scene))
            clip = MotionClip(fps, values, metadata={"source": f"blender:{target.obj.name}"})
            write_csv(clip, self.filepath, start_seconds=first / scene_fps(scene))
        except FacecastError as e:
            self.report({"ERROR"}, f"Facecast: {e}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Wrote {clip.num_frames} frames at {fps} fps to {self.filepath}")
        return {"FINISHED"}


class FACECAST_OT_add_test_head(bpy.types.Operator):
    """Add facecast's ARKit test head (52 shape keys, two eyes) and make it the bake target"""

    bl_idname = "facecast.add_test_head"
    bl_label = "Add ARKit Test Head"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        head = add_test_head(context, context.scene.cursor.location)
        settings = context.scene.facecast
        settings.head_object, settings.head_bone = head, ""
        eyes = {child.name.split(".")[0]: child for child in head.children}
        settings.eye_left, settings.eye_right = eyes.get("LeftEye"), eyes.get("RightEye")
        settings.eye_left_bone = settings.eye_right_bone = ""
        if settings.mapping_preset != "arkit":
            settings.mapping_preset = "arkit"  # fills the table
        else:
            fill_mapping(settings, "arkit")
        self.report({"INFO"}, f"Added {head.name} with {len(head.data.shape_keys.key_blocks) - 1} ARKit shape keys")
        return {"FINISHED"}


class FACECAST_OT_detect_mapping(bpy.types.Operator):
    """Pick the mapping preset that matches most of the active object's shape keys"""

    bl_idname = "facecast.detect_mapping"
    bl_label = "Detect Preset"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        obj = context.active_object
        return obj is not None and obj.type == "MESH" and obj.data.shape_keys is not None

    def execute(self, context):
        settings = context.scene.facecast
        names = [key.name for key in context.active_object.data.shape_keys.key_blocks[1:]]
        preset = best_preset(names)
        settings.mapping_preset = preset
        fill_mapping(settings, preset)
        self.report({"INFO"}, f"Mapping preset: {preset}")
        return {"FINISHED"}


CLASSES = (FACECAST_OT_import_csv, FACECAST_OT_export_csv, FACECAST_OT_add_test_head, FACECAST_OT_detect_mapping)
