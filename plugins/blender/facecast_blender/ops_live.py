"""Live preview: stream the audio to the daemon in real time and drive the shape keys while it plays.

Nothing is keyed: a ``bpy.app.timers`` callback sets the shape key values (and head/eye rotations) of the
frame that belongs to the playback time. The preview stops at the end of the audio, on 'Stop' or on error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import bpy
import numpy as np

from facecast.errors import FacecastError, InvalidInput
from facecast.motion import MotionClip

from . import request
from .apply import local_rotations, rotation_owner
from .keyframes import blender_quaternions
from .live import SAMPLE_RATE, LiveSession
from .ops_daemon import redraw_view3d
from .props import clip_fps
from .runtime import RUNTIME

TICK_SECONDS = 1 / 60


@dataclass
class Preview:
    session: LiveSession
    target: request.Target
    started: float  # monotonic time the stream started; audio starts ``session.lookahead`` later
    handle: object | None  # the aud playback handle, None without an audio device


PREVIEW: list[Preview] = []  # at most one


def _aud():
    """Blender's audio library; some ``bpy`` module builds lack it (Blender itself always has it)."""
    try:
        import aud
    except ImportError:
        raise InvalidInput("this Blender build has no audio library (aud); live preview needs it") from None
    return aud


def decode(source: request.AudioSource) -> np.ndarray:
    """Mono float32 samples at 16 kHz, decoded by Blender's own audio library."""
    aud = _aud()
    sound = source.sound.factory if source.sound is not None else aud.Sound(source.path)
    samples = sound.resample(SAMPLE_RATE, False).rechannel(1).data()
    return np.ascontiguousarray(samples[:, 0], np.float32)


def pose(target: request.Target, values: np.ndarray, fps: int) -> None:
    """Show one frame: shape key values and joint rotations, set directly (no keyframes)."""
    blocks = target.obj.data.shape_keys.key_blocks
    for channel, name in target.plan.bindings:
        blocks[name].value = float(values[channel])
    if target.joints:
        clip = MotionClip(fps, values[None])
        for obj, bone, joint in target.joints:
            path, rotation, _ = local_rotations(obj, bone, blender_quaternions(clip, joint))
            owner, _, _ = rotation_owner(obj, bone)
            setattr(owner, path.rsplit(".", 1)[-1], tuple(rotation[0]))


def stop_preview(status: str) -> None:
    if not PREVIEW:
        return
    preview = PREVIEW.pop()
    preview.session.stop()
    if preview.handle is not None:
        preview.handle.stop()
    RUNTIME.live_status = status


def tick() -> float | None:
    """Timer callback: pose the frame for the playback time; ends the preview after the audio."""
    if not PREVIEW:
        return None
    preview = PREVIEW[0]
    session = preview.session
    playing = time.monotonic() - preview.started - session.lookahead
    if session.error:
        stop_preview(f"Live preview stopped: {session.error}")
        return None
    frame = session.frame_at(playing)
    if frame is not None:
        try:
            pose(preview.target, frame.values, session.fps)
            if not bpy.app.background:
                redraw_view3d()
        except (ReferenceError, KeyError, FacecastError) as e:  # the object or a key was deleted meanwhile
            stop_preview(f"Live preview stopped: {e}")
            return None
    if playing > session.duration + 0.25 and session.finished:
        stop_preview("Live preview finished")
        return None
    return TICK_SECONDS


class FACECAST_OT_live_start(bpy.types.Operator):
    """Stream the audio to the daemon in real time and drive the active object's shape keys while it plays"""

    bl_idname = "facecast.live_start"
    bl_label = "Live Preview"

    @classmethod
    def poll(cls, context):
        return not PREVIEW

    def execute(self, context):
        settings = context.scene.facecast
        try:
            request.check_online()
            target = request.target(context, settings)
            source = request.audio(context, settings)
            samples = decode(source)
            session = LiveSession(settings.address, settings.token, samples, clip_fps(settings, context.scene),
                                  settings.animator, settings.controls())
            session.start()
        except (FacecastError, RuntimeError) as e:
            self.report({"ERROR"}, f"Facecast: {e}")
            return {"CANCELLED"}
        handle = None
        try:
            aud = _aud()
            handle = aud.Device().play(aud.Sound.buffer(samples[:, None], SAMPLE_RATE).delay(session.lookahead))
        except Exception:  # no audio device (a server, background mode): preview without sound
            self.report({"WARNING"}, "No audio device: the live preview runs without sound")
        PREVIEW.append(Preview(session, target, time.monotonic(), handle))
        RUNTIME.live_status = "Live preview running"
        if not bpy.app.background:
            bpy.app.timers.register(tick, first_interval=TICK_SECONDS)
        return {"FINISHED"}


class FACECAST_OT_live_stop(bpy.types.Operator):
    """Stop the live preview"""

    bl_idname = "facecast.live_stop"
    bl_label = "Stop Preview"

    @classmethod
    def poll(cls, context):
        return bool(PREVIEW)

    def execute(self, context):
        stop_preview("Live preview stopped")
        return {"FINISHED"}


CLASSES = (FACECAST_OT_live_start, FACECAST_OT_live_stop)
