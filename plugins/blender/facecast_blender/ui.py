"""The 'Facecast' tab of the 3D viewport sidebar: daemon, audio and controls, targets, bake, live, takes."""

from __future__ import annotations

import bpy

from . import inprocess
from .ops_live import PREVIEW
from .regions import REGIONS
from .runtime import RUNTIME


class FACECAST_UL_mapping(bpy.types.UIList):
    def draw_item(self, context, layout, data, item, icon, active_data, active_property, index=0, flt_flag=0):
        row = layout.row(align=True)
        row.label(text=item.arkit)
        row.prop(item, "targets", text="", emboss=True)


class _Panel:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "Facecast"


class FACECAST_PT_daemon(_Panel, bpy.types.Panel):
    bl_label = "Facecast Daemon"

    def draw(self, context):
        settings = context.scene.facecast
        layout = self.layout
        layout.prop(settings, "engine", expand=True)
        if settings.engine == "LOCAL":
            if settings.animator:
                layout.label(text=f"Generate & Bake runs in Blender (animator: {settings.animator})",
                             icon="CHECKMARK")
            else:
                ok, line = inprocess.local_report()
                layout.label(text=f"Generate & Bake {line}", icon="CHECKMARK" if ok else "ERROR")
        col = layout.column(align=True)
        col.prop(settings, "address")
        col.prop(settings, "token")
        row = layout.row(align=True)
        row.operator("facecast.connect", icon="LINKED")
        row.operator("facecast.start_daemon", icon="PLAY")
        if RUNTIME.local_daemon is not None:
            layout.operator("facecast.stop_daemon", icon="CANCEL")
        layout.prop(settings, "executable")
        box = layout.box()
        box.label(text=RUNTIME.status, icon="CHECKMARK" if RUNTIME.info else "INFO")
        if not getattr(bpy.app, "online_access", True) and settings.engine == "DAEMON":
            box.label(text="Online access is off (Preferences > System):", icon="ERROR")
            box.label(text="facecast needs it, even for a local daemon")


class FACECAST_PT_animation(_Panel, bpy.types.Panel):
    bl_label = "Audio & Controls"
    bl_parent_id = "FACECAST_PT_daemon"

    def draw(self, context):
        settings = context.scene.facecast
        layout = self.layout
        layout.prop(settings, "audio_source", expand=True)
        if settings.audio_source == "FILE":
            layout.prop(settings, "audio_path")
        else:
            editor = context.scene.sequence_editor
            strip = editor.active_strip if editor else None
            layout.label(text=strip.name if strip and strip.type == "SOUND" else "No active sound strip",
                         icon="SOUND")
        layout.prop(settings, "portrait_path")
        if settings.portrait_path:
            layout.prop(settings, "portrait_size")
        col = layout.column()
        col.prop(settings, "animator")
        col.prop(settings, "transcript")
        if settings.transcript:
            col.prop(settings, "language")
        col.prop(settings, "emotion")
        col.prop(settings, "emotion_intensity", slider=True)
        col.prop(settings, "head_motion", slider=True)
        col.prop(settings, "gaze_mode")
        if settings.gaze_mode == "FIXED":
            row = col.row(align=True)
            row.prop(settings, "gaze_yaw")
            row.prop(settings, "gaze_pitch")
        row = col.row(align=True)
        row.prop(settings, "seed")
        row.prop(settings, "fps_mode", text="FPS")


class FACECAST_PT_targets(_Panel, bpy.types.Panel):
    bl_label = "Targets"
    bl_parent_id = "FACECAST_PT_daemon"

    def draw(self, context):
        settings = context.scene.facecast
        layout = self.layout
        obj = context.active_object
        layout.label(text=f"Shape keys: {obj.name}" if obj else "Shape keys: (no active object)", icon="SHAPEKEY_DATA")
        for pointer, bone in (("head_object", "head_bone"), ("eye_left", "eye_left_bone"),
                              ("eye_right", "eye_right_bone")):
            row = layout.row(align=True)
            row.prop(settings, pointer)
            target = getattr(settings, pointer)
            if target is not None and target.type == "ARMATURE":
                row.prop_search(settings, bone, target.data, "bones", text="")
        row = layout.row(align=True)
        row.prop(settings, "mapping_preset")
        row.operator("facecast.detect_mapping", text="", icon="VIEWZOOM")
        layout.prop(settings, "show_mapping", icon="TRIA_DOWN" if settings.show_mapping else "TRIA_RIGHT")
        if settings.show_mapping:
            layout.template_list("FACECAST_UL_mapping", "", settings, "mapping", settings, "mapping_index", rows=6)


class FACECAST_PT_bake(_Panel, bpy.types.Panel):
    bl_label = "Generate"
    bl_parent_id = "FACECAST_PT_daemon"

    def draw(self, context):
        layout = self.layout
        layout.scale_y = 1.2
        if RUNTIME.busy and RUNTIME.progress > 0:
            layout.progress(factor=RUNTIME.progress, text=f"Baking {RUNTIME.progress:.0%} (Esc cancels)")
        else:
            layout.operator("facecast.bake", icon="KEYINGSET")
        row = layout.row(align=True)
        if PREVIEW:
            row.operator("facecast.live_stop", icon="CANCEL")
        else:
            row.operator("facecast.live_start", icon="PLAY_SOUND")
        if RUNTIME.live_status:
            layout.label(text=RUNTIME.live_status, icon="INFO")
        layout.operator("facecast.portrait", icon="IMAGE_PLANE")
        if RUNTIME.portrait_status:
            layout.label(text=RUNTIME.portrait_status, icon="INFO")


class FACECAST_PT_regions(_Panel, bpy.types.Panel):
    bl_label = "Face Regions"
    bl_parent_id = "FACECAST_PT_daemon"

    def draw(self, context):
        settings = context.scene.facecast
        layout = self.layout
        layout.label(text="Each region bakes to its own NLA strip; your keys stay on top", icon="NLA")
        for name, label, _ in REGIONS:
            region = getattr(settings, f"region_{name}")
            row = layout.row(align=True)
            row.prop(region, "enabled", text=label)
            sub = row.row(align=True)
            sub.active = region.enabled
            sub.prop(region, "strength", text="Strength", slider=True)
            sub.prop(region, "smoothing", text="Smooth")


class FACECAST_PT_extras(_Panel, bpy.types.Panel):
    bl_label = "Takes & Test Head"
    bl_parent_id = "FACECAST_PT_daemon"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        layout = self.layout
        layout.operator("facecast.add_test_head", icon="MONKEY")
        row = layout.row(align=True)
        row.operator("facecast.import_csv", text="Import CSV", icon="IMPORT")
        row.operator("facecast.export_csv", text="Export CSV", icon="EXPORT")


CLASSES = (FACECAST_UL_mapping, FACECAST_PT_daemon, FACECAST_PT_animation, FACECAST_PT_targets, FACECAST_PT_bake,
           FACECAST_PT_regions, FACECAST_PT_extras)
