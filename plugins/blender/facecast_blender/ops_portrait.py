"""Talking portrait: a plane with the portrait video (rendered by the local facecast) as a movie texture."""

from __future__ import annotations

import os
import tempfile

import bpy

from facecast.errors import FacecastError, InvalidInput

from . import request
from .apply import add_sound_strip
from .jobs import Message
from .ops_daemon import follow
from .portrait import render_command, render_job
from .props import clip_fps
from .runtime import RUNTIME

PLANE_HEIGHT = 0.25  # metres: about a head, next to the test head


def output_path(portrait: str, audio: str) -> str:
    """``//facecast/<portrait>_<audio>.mp4`` beside a saved .blend, else in the system's temp folder (Blender's
    own session folder is deleted on quit, and the video must outlive the session)."""
    folder = bpy.path.abspath("//facecast") if bpy.data.filepath else os.path.join(tempfile.gettempdir(), "facecast")
    os.makedirs(folder, exist_ok=True)
    stem = lambda p: os.path.splitext(os.path.basename(p))[0]  # noqa: E731
    base = os.path.join(folder, f"{stem(portrait)}_{stem(audio)}")
    taken = 0  # never overwrite an earlier take: another plane may still play it
    while os.path.exists(path := f"{base}{f'_{taken}' if taken else ''}.mp4"):
        taken += 1
    return path


def portrait_plane(context, video: str, start_frame: int) -> bpy.types.Object:
    """A square plane facing -Y whose material plays ``video`` from ``start_frame``."""
    image = bpy.data.images.load(video, check_existing=False)
    half = PLANE_HEIGHT / 2
    mesh = bpy.data.meshes.new("FacecastPortrait")
    mesh.from_pydata([(-half, 0, -half), (half, 0, -half), (half, 0, half), (-half, 0, half)], [], [(0, 1, 2, 3)])
    uv = mesh.uv_layers.new(name="UVMap")
    uv.data.foreach_set("uv", [0, 0, 1, 0, 1, 1, 0, 1])
    material = bpy.data.materials.new("FacecastPortrait")
    material.use_nodes = True
    nodes, links = material.node_tree.nodes, material.node_tree.links
    texture = nodes.new("ShaderNodeTexImage")
    texture.image = image
    texture.image_user.frame_duration = image.frame_duration
    texture.image_user.frame_start = start_frame
    texture.image_user.use_auto_refresh = True
    links.new(texture.outputs["Color"], nodes["Principled BSDF"].inputs["Base Color"])
    mesh.materials.append(material)
    obj = bpy.data.objects.new("FacecastPortrait", mesh)
    obj.location = context.scene.cursor.location
    context.collection.objects.link(obj)
    return obj


class FACECAST_OT_portrait(bpy.types.Operator):
    """Render the portrait speaking the audio (daemon motion, local facecast renderer) onto a plane"""

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
            source = request.audio(context, settings)
            audio = source.path or bpy.path.abspath(source.sound.filepath, library=source.sound.library)
            video = output_path(portrait, audio)
            command = render_command(settings.executable, audio, portrait, video, settings.address,
                                     clip_fps(settings, scene), settings.animator, settings.controls())
        except FacecastError as e:
            self.report({"ERROR"}, f"Facecast: {e}")
            return {"CANCELLED"}
        scene_name, start, strip_audio = scene.name, source.start_frame, source.path
        RUNTIME.portrait_status = f"Rendering the talking portrait to {os.path.basename(video)}…"
        outcome: list[Message] = []

        def done(message: Message) -> None:
            outcome.append(message)
            target_scene = bpy.data.scenes.get(scene_name)
            if message.kind == "error" or target_scene is None:
                RUNTIME.portrait_status = f"Talking portrait failed: {message.text}"
                return
            plane = portrait_plane(bpy.context, message.result, start)
            if strip_audio:
                add_sound_strip(target_scene, strip_audio, start, plane.active_material.node_tree.nodes[
                    "Image Texture"].image_user.frame_duration)
            RUNTIME.portrait_status = f"Talking portrait on {plane.name} from frame {start}"

        follow(render_job(command, settings.token), done)
        if bpy.app.background and outcome and outcome[0].kind == "error":
            self.report({"ERROR"}, f"Facecast: {outcome[0].text}")
            return {"CANCELLED"}
        return {"FINISHED"}


CLASSES = (FACECAST_OT_portrait,)
