"""Talking portrait: a plane whose material plays the daemon's texture frames as an image sequence."""

from __future__ import annotations

import math
import os
import shutil
import tempfile

import bpy

from facecast.errors import FacecastError, InvalidInput

from . import request
from .apply import add_sound_strip
from .jobs import Message, error_text
from .ops_daemon import follow
from .portrait import PortraitTake, portrait_job, sequence_folder
from .props import clip_fps, scene_fps
from .runtime import RUNTIME

PLANE_HEIGHT = 0.25  # metres: about a head, next to the test head
PLANE_TAG = "facecast_portrait"  # custom property marking the planes this operator made (it updates those)


def output_parent() -> str:
    """``//facecast`` beside a saved .blend, else ``<system temp>/facecast`` (Blender's own session folder is
    deleted on quit, and the frames must outlive the session)."""
    return bpy.path.abspath("//facecast") if bpy.data.filepath else os.path.join(tempfile.gettempdir(), "facecast")


def sequence_image(take: PortraitTake) -> bpy.types.Image:
    """The take's frames as one image datablock of source 'SEQUENCE' (Blender finds the others by number)."""
    image = bpy.data.images.load(take.first_frame, check_existing=False)
    image.source = "SEQUENCE"
    image.name = os.path.basename(take.folder)
    return image


def new_plane(scene: bpy.types.Scene) -> bpy.types.Object:
    """A square plane facing -Y at the 3D cursor, with a material whose base colour is an image texture."""
    half = PLANE_HEIGHT / 2
    mesh = bpy.data.meshes.new("FacecastPortrait")
    mesh.from_pydata([(-half, 0, -half), (half, 0, -half), (half, 0, half), (-half, 0, half)], [], [(0, 1, 2, 3)])
    uv = mesh.uv_layers.new(name="UVMap")
    uv.data.foreach_set("uv", [0, 0, 1, 0, 1, 1, 0, 1])
    material = bpy.data.materials.new("FacecastPortrait")
    material.use_nodes = True
    nodes, links = material.node_tree.nodes, material.node_tree.links
    texture = nodes.new("ShaderNodeTexImage")
    links.new(texture.outputs["Color"], nodes["Principled BSDF"].inputs["Base Color"])
    mesh.materials.append(material)
    obj = bpy.data.objects.new("FacecastPortrait", mesh)
    obj[PLANE_TAG] = True
    obj.location = scene.cursor.location
    scene.collection.objects.link(obj)
    return obj


def show_take(plane: bpy.types.Object, image: bpy.types.Image, frames: int, start_frame: int) -> None:
    """Point the plane's image texture at the sequence ``image``: its first image on ``start_frame``, one image
    per frame, ``frames`` long."""
    texture = plane.active_material.node_tree.nodes["Image Texture"]
    texture.image = image
    user = texture.image_user
    user.frame_duration, user.frame_start, user.frame_offset = frames, start_frame, 0
    user.use_cyclic, user.use_auto_refresh = False, True


def place_take(scene: bpy.types.Scene, plane: bpy.types.Object | None, take: PortraitTake, start_frame: int,
               audio_path: str | None) -> bpy.types.Object:
    """Show ``take`` on ``plane`` (a new plane when None) with ``audio_path`` as a sound strip at the same frame.

    The steps that can fail (reading the first image, adding the strip) come first and undo each other, so a
    failure adds nothing to the file."""
    image = sequence_image(take)
    try:
        if audio_path:
            add_sound_strip(scene, audio_path, start_frame, take.frames)
    except Exception:
        bpy.data.images.remove(image)
        raise
    plane = plane or new_plane(scene)
    show_take(plane, image, take.frames, start_frame)
    scene.frame_end = max(scene.frame_end, start_frame + take.frames - 1)
    return plane


class FACECAST_OT_portrait(bpy.types.Operator):
    """Bake the portrait speaking the audio (the daemon's texture frames) into an image sequence on a plane;
    an active facecast portrait plane is updated instead of adding a new one"""

    bl_idname = "facecast.portrait"
    bl_label = "Talking Portrait"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        scene, settings = context.scene, context.scene.facecast
        try:
            request.check_online()
            portrait = bpy.path.abspath(settings.portrait_path)
            if not settings.portrait_path or not os.path.isfile(portrait):
                raise InvalidInput("choose a portrait image under Portrait first")
            fps = clip_fps(settings, scene)
            if not math.isclose(fps, scene_fps(scene), abs_tol=1e-3):
                raise InvalidInput(f"the talking portrait shows one image per scene frame: set FPS to Scene (the "
                                   f"scene runs at {scene_fps(scene):g} fps, not {fps})")
            source = request.audio(context, settings)
            folder = sequence_folder(output_parent(), portrait, source.path or source.name)
        except FacecastError as e:
            self.report({"ERROR"}, f"Facecast: {e}")
            return {"CANCELLED"}
        active = context.active_object
        plane_name = active.name if active is not None and active.get(PLANE_TAG) else ""
        scene_name, start, strip_audio = scene.name, source.start_frame, source.path
        RUNTIME.portrait_status = f"Baking the talking portrait to {folder}…"
        failures: list[str] = []

        def done(message: Message) -> None:
            target_scene = bpy.data.scenes.get(scene_name)
            if message.kind == "done" and target_scene is None:
                shutil.rmtree(message.result.folder, ignore_errors=True)
                message = Message("error", text=f"the scene {scene_name!r} is gone")
            if message.kind == "done":
                try:
                    plane = place_take(target_scene, bpy.data.objects.get(plane_name) if plane_name else None,
                                       message.result, start, strip_audio)
                except Exception as e:  # nothing half-done: the sequence goes too
                    shutil.rmtree(message.result.folder, ignore_errors=True)
                    message = Message("error", text=error_text(e))
            if message.kind == "error":
                failures.append(message.text)
                RUNTIME.portrait_status = f"Talking portrait failed: {message.text}"
            else:
                RUNTIME.portrait_status = (f"Talking portrait on {plane.name} from frame {start} "
                                           f"({message.result.frames} frames in {message.result.folder})")

        follow(portrait_job(settings.address, settings.token, portrait, source.data, folder, settings.animator,
                            fps, settings.controls(), settings.portrait_size), done)
        if bpy.app.background and failures:
            self.report({"ERROR"}, f"Facecast: {failures[0]}")
            return {"CANCELLED"}
        return {"FINISHED"}


CLASSES = (FACECAST_OT_portrait,)
