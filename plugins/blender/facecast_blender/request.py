"""Gather what a bake or a live preview needs from the scene (main thread), checking it all up front.

Every problem the user can fix (online access off, no audio, no shape keys, a wrong bone) is raised here as
:class:`facecast.errors.InvalidInput` with a message saying what to do, before any daemon call or any write.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import bpy

from facecast.errors import InvalidInput

from .props import FacecastSettings
from .rigmap import Plan, resolve


@dataclass
class Target:
    """The object whose shape keys are keyed, its resolved mapping and the rotation joints to key."""

    obj: bpy.types.Object
    plan: Plan
    joints: list[tuple[bpy.types.Object, str, str]]  # (object, bone or "", "Head" | "LeftEye" | "RightEye")


@dataclass
class AudioSource:
    """Audio to animate: ``data`` (encoded file bytes), ``path`` for a new sound strip (None if it has one)."""

    data: bytes
    name: str
    path: str | None
    start_frame: int
    sound: bpy.types.Sound | None = None  # the strip's sound datablock, for live playback


@contextlib.contextmanager
def audio_file(source: AudioSource) -> Iterator[str]:
    """A path Blender's audio library can decode: the file itself, or the strip's sound (a packed one is
    written to a temporary file, removed afterwards)."""
    if source.path:
        yield source.path
        return
    if source.sound is not None and source.sound.packed_file is None:
        yield bpy.path.abspath(source.sound.filepath, library=source.sound.library)
        return
    with tempfile.TemporaryDirectory(prefix="facecast-") as folder:
        path = os.path.join(folder, "sound" + (os.path.splitext(source.name)[1] or ".wav"))
        with open(path, "wb") as f:
            f.write(source.data)
        yield path


def check_online() -> None:
    """Refuse network use when Blender's 'Allow Online Access' is off (a local daemon counts as network too)."""
    if not getattr(bpy.app, "online_access", True):
        raise InvalidInput("online access is disabled: enable Preferences > System > Network > Allow Online Access "
                           "(facecast talks to its daemon over the network, even a local one on 127.0.0.1)")


def target(context: bpy.types.Context, settings: FacecastSettings, object_name: str = "") -> Target:
    obj = bpy.data.objects.get(object_name) if object_name else context.active_object
    if obj is None:
        raise InvalidInput(f"no object named {object_name!r}" if object_name else
                           "no active object: select the mesh whose shape keys facecast should drive")
    if obj.type != "MESH" or obj.data.shape_keys is None:
        raise InvalidInput(f"{obj.name} has no shape keys: select a mesh with ARKit shape keys, or use "
                           "'Add ARKit test head'")
    names = [key.name for key in obj.data.shape_keys.key_blocks[1:]]  # the first is the Basis
    plan = resolve(settings.mapping_rows(), names, obj.name)
    joints = [(o, bone, joint) for o, bone, joint in (
        (settings.head_object, settings.head_bone, "Head"),
        (settings.eye_left, settings.eye_left_bone, "LeftEye"),
        (settings.eye_right, settings.eye_right_bone, "RightEye"),
    ) if o is not None]
    return Target(obj, plan, joints)


def audio(context: bpy.types.Context, settings: FacecastSettings, path_override: str = "",
          frame: int | None = None) -> AudioSource:
    """The audio file (or the active sound strip) and the frame the take starts at."""
    scene = context.scene
    start = scene.frame_current if frame is None or frame < 0 else frame
    if path_override or settings.audio_source == "FILE":
        path = bpy.path.abspath(path_override or settings.audio_path)
        if not path:
            raise InvalidInput("no audio file: choose one under Audio, or use the active sound strip")
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise InvalidInput(f"cannot read audio file {path}: {e.strerror}") from None
        return AudioSource(data, os.path.basename(path), path, start)
    editor = scene.sequence_editor
    strip = editor.active_strip if editor else None
    if strip is None or strip.type != "SOUND" or strip.sound is None:
        raise InvalidInput("no active sound strip: select a sound strip in the Sequencer, or choose an audio file")
    sound = strip.sound
    if sound.packed_file is not None:
        data = bytes(sound.packed_file.data)
    else:
        path = bpy.path.abspath(sound.filepath, library=sound.library)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as e:
            raise InvalidInput(f"cannot read the strip's sound {path}: {e.strerror}") from None
    # the strip already plays the audio: keys start where the sound starts (its first frame, before trimming)
    return AudioSource(data, strip.name, None, int(round(strip.frame_start)), sound)
