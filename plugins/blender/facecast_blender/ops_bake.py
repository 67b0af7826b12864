"""Generate & Bake: animate the audio on the daemon, then key the take into new actions (undoable).

Interactive use runs as a modal operator: the daemon call runs on a worker thread, a window timer drains its
queue, the status bar shows progress and Esc cancels. Background mode (``blender -b``, the ``bpy`` module) has
no event loop, so ``execute`` waits for the worker instead; both paths share :func:`finish`.
"""

from __future__ import annotations

import bpy
from bpy.props import IntProperty, StringProperty

from facecast.audio import MODEL_RATE
from facecast.errors import FacecastError

from . import inprocess, request
from .apply import bake_clip
from .jobs import Job, Message, animate_job, error_text
from .ops_daemon import redraw_view3d
from .props import clip_fps
from .regions import enabled
from .runtime import RUNTIME


class FACECAST_OT_bake(bpy.types.Operator):
    """Animate the audio on the facecast daemon and bake the take onto the active object's shape keys"""

    bl_idname = "facecast.bake"
    bl_label = "Generate & Bake"
    bl_options = {"REGISTER", "UNDO"}

    audio: StringProperty(name="Audio", subtype="FILE_PATH",
                          description="Audio file (overrides the panel's audio source; for scripts)")
    object: StringProperty(name="Object", description="Object to key (default: the active object)")
    frame: IntProperty(name="Start frame", default=-1, description="First frame of the take (-1: current frame)")
    regions: StringProperty(name="Regions", description="Comma-separated face regions to bake (mouth, eyes, brows, "
                            "head; default: the panel's ticked regions); for scripts")

    def _prepare(self, context) -> Job:
        settings = context.scene.facecast
        local = settings.engine == "LOCAL"
        if not local:
            request.check_online()
        self._target = request.target(context, settings, self.object)
        self._audio = request.audio(context, settings, self.audio, self.frame)
        self._regions = settings.regions(self.regions)
        enabled(self._regions)  # refuse before the daemon call when no region is ticked
        fps = clip_fps(settings, context.scene)
        self._where = "in Blender" if local else "on the daemon"
        self._note = inprocess.local_report() if local and not settings.animator else None
        if local:  # no daemon, no network: decode here (main thread), animate on the worker
            animator = inprocess.check_animator(settings.animator)
            self._where = f"in Blender ({animator})"
            with request.audio_file(self._audio) as path:
                samples = inprocess.decode_audio(path, MODEL_RATE)
            return inprocess.local_animate_job(samples, animator, fps, settings.controls(), self._audio.name)
        return animate_job(settings.address, settings.token, self._audio.data, settings.animator, fps,
                           settings.controls(), settings.transcript, settings.language)

    def execute(self, context):
        if RUNTIME.busy:
            self.report({"ERROR"}, "facecast is already baking")
            return {"CANCELLED"}
        try:
            job = self._prepare(context).start()
        except FacecastError as e:
            self.report({"ERROR"}, f"Facecast: {e}")
            return {"CANCELLED"}
        return self.finish(context, job.wait())

    def invoke(self, context, event):
        if RUNTIME.busy:
            self.report({"ERROR"}, "facecast is already baking")
            return {"CANCELLED"}
        try:
            self._job = self._prepare(context).start()
        except FacecastError as e:
            self.report({"ERROR"}, f"Facecast: {e}")
            return {"CANCELLED"}
        RUNTIME.busy, RUNTIME.progress = True, 0.0
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.05, window=context.window)
        wm.progress_begin(0, 100)
        wm.modal_handler_add(self)
        context.workspace.status_text_set(f"Facecast: animating {self._audio.name} {self._where}… (Esc to cancel)")
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type == "ESC" and event.value == "PRESS":
            self._job.cancel()
            self._end_modal(context)
            self.report({"WARNING"}, "Facecast bake cancelled; nothing was changed")
            return {"CANCELLED"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        for message in self._job.poll():
            if message.kind == "progress":
                RUNTIME.progress = message.done / max(message.total, 1)
                context.window_manager.progress_update(int(100 * RUNTIME.progress))
                context.workspace.status_text_set(f"Facecast: {RUNTIME.progress:.0%} of {self._audio.name} "
                                                  "(Esc to cancel)")
                redraw_view3d()
            else:
                self._end_modal(context)
                return self.finish(context, message)
        return {"RUNNING_MODAL"}

    def _end_modal(self, context) -> None:
        wm = context.window_manager
        wm.event_timer_remove(self._timer)
        wm.progress_end()
        context.workspace.status_text_set(None)
        RUNTIME.busy, RUNTIME.progress = False, 0.0
        redraw_view3d()

    def finish(self, context, message: Message):
        """Key the finished take, or report why there is none. Runs on the main thread."""
        if message.kind == "error":
            self.report({"ERROR"}, f"Facecast: {message.text}")
            return {"CANCELLED"}
        clip = message.result
        if clip.num_frames == 0:
            self.report({"ERROR"}, f"Facecast: animating {self._where} gave no frames for this audio")
            return {"CANCELLED"}
        target, audio = self._target, self._audio
        try:
            result = bake_clip(context.scene, target.obj, clip, target.plan, audio.start_frame, target.joints,
                               audio.path, self._regions)
        except Exception as e:  # bake_clip has rolled back; the user gets one line, not a traceback popup
            self.report({"ERROR"}, f"Facecast: {error_text(e)}")
            return {"CANCELLED"}
        if warning := target.plan.warning():
            self.report({"WARNING"}, warning)
        for text in message.warnings:  # e.g. a transcript that does not fit: baked from the audio alone
            self.report({"WARNING"}, f"Facecast: {text}")
        if self._note is not None:  # which animator Run = In Blender chose, and why when it is the fallback
            ok, line = self._note
            self.report({"INFO"} if ok else {"WARNING"}, f"Facecast {line}")
        if result.kept:
            self.report({"INFO"}, f"Replaced earlier facecast strip(s); their actions keep a fake user: "
                                  f"{', '.join(result.kept)}")
        where = f"; sound strip on channel {result.strip.channel}" if result.strip else ""
        self.report({"INFO"}, f"Baked {clip.num_frames} frames ({clip.duration:.1f} s, {len(target.plan.bindings)} "
                              f"shape keys, {result.keys} keys) onto {target.obj.name} from frame "
                              f"{audio.start_frame} into NLA strips ({', '.join(result.regions)}){where}, "
                              f"animated {self._where}")
        return {"FINISHED"}


CLASSES = (FACECAST_OT_bake,)
