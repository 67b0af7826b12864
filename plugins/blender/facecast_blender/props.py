"""Settings saved with the .blend: ``scene.facecast`` (daemon, audio, controls, targets, the mapping table)."""

from __future__ import annotations

import math

import bpy
from bpy.props import (
    BoolProperty,
    CollectionProperty,
    EnumProperty,
    FloatProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

from facecast.client import DEFAULT_ADDRESS
from facecast.controls import EMOTIONS, MAX_GAZE_RAD, Controls
from facecast.errors import InvalidInput
from facecast.motion import FPS_OPTIONS

from .regions import MAX_SMOOTHING, REGION_NAMES, RegionSettings
from .rigmap import PRESETS, preset_rows
from .runtime import RUNTIME


def _search_animators(self, context, edit_text):  # Blender's search callback signature
    return [name for name in RUNTIME.animators() if edit_text.lower() in name.lower()]


def _fill_mapping(self, context) -> None:
    fill_mapping(self, self.mapping_preset)


def fill_mapping(settings: FacecastSettings, preset: str) -> None:
    """Replace the mapping table by a preset's rows (the 'custom' preset keeps the table as edited)."""
    if preset == "custom":
        return
    settings.mapping.clear()
    for arkit, targets in preset_rows(preset):
        row = settings.mapping.add()
        row.arkit, row.targets = arkit, targets


class FacecastMappingRow(bpy.types.PropertyGroup):
    arkit: StringProperty(name="ARKit", description="ARKit blendshape this row maps")
    targets: StringProperty(name="Shape keys", description="Shape key name(s) it drives, comma-separated")


class FacecastRegion(bpy.types.PropertyGroup):
    """One face region's part in a bake (see regions.py): baked at all, strength, smoothing."""

    enabled: BoolProperty(name="Bake", default=True, description="Bake this region (its NLA strip is replaced)")
    strength: FloatProperty(name="Strength", default=1.0, min=0.0, max=2.0,
                            description="Scale of the region's motion (0 = neutral, 1 = as animated)")
    smoothing: FloatProperty(name="Smoothing", default=0.0, min=0.0, max=MAX_SMOOTHING,
                             description="Gaussian smoothing of the region's curves, in frames of the take")


class FacecastSettings(bpy.types.PropertyGroup):
    engine: EnumProperty(name="Run", items=(
        ("DAEMON", "Daemon", "Animate on a facecast daemon (every animator; live preview and portraits need it)"),
        ("LOCAL", "In Blender", "Animate inside Blender with a bundled animator: no daemon, no network, no Online "
                                "Access needed"),
    ), description="Where Generate & Bake animates the audio")
    # daemon
    address: StringProperty(name="Address", default=DEFAULT_ADDRESS, description="host:port of the facecast daemon")
    token: StringProperty(name="Token", subtype="PASSWORD", description="Bearer token, if the daemon wants one")
    executable: StringProperty(name="Executable", subtype="FILE_PATH",
                               description="The facecast program used by 'Start local daemon' (empty: PATH)")
    # audio and portrait
    audio_source: EnumProperty(name="Audio", items=(
        ("FILE", "File", "An audio file on disk"),
        ("STRIP", "Active sound strip", "The active sound strip of the sequencer; keys start at its first frame"),
    ))
    audio_path: StringProperty(name="Audio file", subtype="FILE_PATH", description="WAV, FLAC, MP3 or OGG speech")
    portrait_path: StringProperty(name="Portrait", subtype="FILE_PATH",
                                  description="Optional portrait image for the talking-portrait mode")
    portrait_size: IntProperty(name="Texture size", default=512, min=128, max=2048, subtype="PIXEL",
                               description="Width and height of the talking portrait's frames")
    # controls
    animator: StringProperty(name="Animator", search=_search_animators,
                             description="Animator on the daemon (empty: the daemon's default); connect to list them")
    transcript: StringProperty(name="Transcript", description="What the speaker says (optional): the phonetic "
                               "animator aligns it for better lip sync. A transcript that does not fit the audio "
                               "is not used: the take is animated from the audio alone and the bake reports a "
                               "warning")
    language: StringProperty(name="Language", description="Language of the transcript: en (default), de, fr, ... "
                             "(any language espeak-ng has a voice for)")
    emotion: EnumProperty(name="Emotion", items=[(e, e.title(), "") for e in EMOTIONS])
    emotion_intensity: FloatProperty(name="Intensity", default=Controls.emotion_intensity, min=0.0, max=1.0)
    head_motion: FloatProperty(name="Head motion", default=Controls.head_motion, min=0.0, max=3.0,
                               description="Scale of head movement (1 = natural, 0 = still)")
    gaze_mode: EnumProperty(name="Gaze", items=(
        ("CAMERA", "Camera", "Look at the camera, with natural saccades"),
        ("FIXED", "Direction", "Look towards a fixed yaw and pitch"),
    ))
    gaze_yaw: FloatProperty(name="Yaw", subtype="ANGLE", min=-MAX_GAZE_RAD, max=MAX_GAZE_RAD)
    gaze_pitch: FloatProperty(name="Pitch", subtype="ANGLE", min=-MAX_GAZE_RAD, max=MAX_GAZE_RAD)
    seed: IntProperty(name="Seed", default=0, min=0, description="Same audio, controls and seed give the same take")
    fps_mode: EnumProperty(name="FPS", items=(
        ("SCENE", "Scene", "The scene's frame rate (must be 24, 25, 30 or 60)"),
        *((str(f), str(f), f"{f} frames per second") for f in FPS_OPTIONS),
    ))
    # targets
    head_object: PointerProperty(name="Head", type=bpy.types.Object,
                                 description="Object (or armature, with a bone) turned by the head rotation")
    head_bone: StringProperty(name="Bone", description="Head bone of the armature (empty: rotate the object)")
    eye_left: PointerProperty(name="Left eye", type=bpy.types.Object)
    eye_left_bone: StringProperty(name="Bone")
    eye_right: PointerProperty(name="Right eye", type=bpy.types.Object)
    eye_right_bone: StringProperty(name="Bone")
    mapping_preset: EnumProperty(name="Preset", items=[*PRESETS, ("custom", "Custom", "The table as edited")],
                                 update=_fill_mapping)
    mapping: CollectionProperty(type=FacecastMappingRow)
    mapping_index: IntProperty()
    show_mapping: BoolProperty(name="Show mapping table")
    # face regions of a bake (regions.REGIONS)
    region_mouth: PointerProperty(type=FacecastRegion)
    region_eyes: PointerProperty(type=FacecastRegion)
    region_brows: PointerProperty(type=FacecastRegion)
    region_head: PointerProperty(type=FacecastRegion)

    def regions(self, only: str = "") -> list[RegionSettings]:
        """The panel's region settings; ``only`` (comma-separated names, for scripts) bakes just those."""
        names = [n.strip() for n in only.split(",") if n.strip()]
        for name in names:
            if name not in REGION_NAMES:
                raise InvalidInput(f"unknown face region {name!r}; use {', '.join(REGION_NAMES)}")
        out = []
        for name in REGION_NAMES:
            region = getattr(self, f"region_{name}")
            out.append(RegionSettings(name, (name in names) if names else region.enabled, region.strength,
                                      region.smoothing))
        return out

    def controls(self) -> Controls:
        gaze = None if self.gaze_mode == "CAMERA" else (self.gaze_yaw, self.gaze_pitch)
        return Controls(emotion=self.emotion, emotion_intensity=self.emotion_intensity, gaze=gaze,
                        head_motion=self.head_motion, seed=self.seed).validated()

    def mapping_rows(self) -> list[tuple[str, str]]:
        """The table, filled from the preset first if it was never filled (a new scene)."""
        if not self.mapping:
            fill_mapping(self, self.mapping_preset if self.mapping_preset != "custom" else "arkit")
        return [(row.arkit, row.targets) for row in self.mapping]


def scene_fps(scene: bpy.types.Scene) -> float:
    return scene.render.fps / scene.render.fps_base


def clip_fps(settings: FacecastSettings, scene: bpy.types.Scene) -> int:
    """The fps to ask the daemon for; the scene's must be one of the contract's rates."""
    if settings.fps_mode != "SCENE":
        return int(settings.fps_mode)
    fps = scene_fps(scene)
    rounded = round(fps)
    if not math.isclose(fps, rounded, abs_tol=1e-3) or rounded not in FPS_OPTIONS:
        raise InvalidInput(f"the scene runs at {fps:g} fps; facecast makes {', '.join(map(str, FPS_OPTIONS))} fps "
                           "takes: pick one under FPS (keys are placed at the scene's frame times)")
    return rounded


CLASSES = (FacecastMappingRow, FacecastRegion, FacecastSettings)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.facecast = PointerProperty(type=FacecastSettings)


def unregister() -> None:
    del bpy.types.Scene.facecast
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
