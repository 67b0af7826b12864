"""Connect to a daemon and start/stop a local one. Work runs on worker threads; a ``bpy.app.timers``
callback picks up the result on the main thread. In background mode the operators simply wait."""

from __future__ import annotations

from collections.abc import Callable

import bpy

from facecast.errors import FacecastError

from . import daemon, request
from .jobs import Job, Message, info_job
from .runtime import RUNTIME


def redraw_view3d() -> None:
    """Redraw every 3D viewport (panels show runtime state; timers change shape keys)."""
    for window in bpy.context.window_manager.windows:
        for area in window.screen.areas:
            if area.type == "VIEW_3D":
                area.tag_redraw()


def follow(job: Job, on_message: Callable[[Message], None]) -> None:
    """Call ``on_message`` with the job's final message on the main thread (now, in background mode)."""
    job.start()
    if bpy.app.background:
        on_message(job.wait())
        return

    def tick() -> float | None:
        for message in job.poll():
            if message.kind != "progress":
                on_message(message)
                redraw_view3d()
                return None
        return 0.1

    bpy.app.timers.register(tick, first_interval=0.1)


def connected(address: str) -> Callable[[Message], None]:
    def on_message(message: Message) -> None:
        RUNTIME.busy = False
        if message.kind == "done":
            RUNTIME.info, RUNTIME.address = message.result, address
            RUNTIME.status = RUNTIME.status_line()
        else:
            RUNTIME.info, RUNTIME.status = None, f"Not connected: {message.text}"

    return on_message


def _online(operator: bpy.types.Operator) -> bool:
    """Whether network use is allowed (:func:`request.check_online`); if not, the operator reports why."""
    try:
        request.check_online()
    except FacecastError as e:
        operator.report({"ERROR"}, f"Facecast: {e}")
        return False
    return True


def _connected_or_cancelled(operator: bpy.types.Operator) -> set[str]:
    """The operator's result once the connect job is on its way: in background mode it has already run, and a
    failed connection cancels the operator with the reason."""
    if bpy.app.background and RUNTIME.info is None:
        operator.report({"ERROR"}, f"Facecast: {RUNTIME.status}")
        return {"CANCELLED"}
    return {"FINISHED"}


class FACECAST_OT_connect(bpy.types.Operator):
    """Check the daemon at the address and read its version, animators and execution providers"""

    bl_idname = "facecast.connect"
    bl_label = "Connect"

    def execute(self, context):
        settings = context.scene.facecast
        if not _online(self):
            return {"CANCELLED"}
        RUNTIME.busy, RUNTIME.status = True, f"Connecting to {settings.address}…"
        follow(info_job(settings.address, settings.token), connected(settings.address))
        return _connected_or_cancelled(self)


class FACECAST_OT_start_daemon(bpy.types.Operator):
    """Start 'facecast serve' on this machine (127.0.0.1, a free port) and connect to it"""

    bl_idname = "facecast.start_daemon"
    bl_label = "Start Local Daemon"

    def execute(self, context):
        settings = context.scene.facecast
        if not _online(self):
            return {"CANCELLED"}
        if RUNTIME.local_daemon is not None and RUNTIME.local_daemon.running:
            self.report({"INFO"}, f"A local daemon already runs at {RUNTIME.local_daemon.address}")
            return {"CANCELLED"}
        scene_name, executable, token = context.scene.name, settings.executable, settings.token
        RUNTIME.busy, RUNTIME.status = True, "Starting the local daemon…"

        def started(message: Message) -> None:
            if message.kind == "error":
                RUNTIME.busy, RUNTIME.status = False, f"Not connected: {message.text}"
                return
            RUNTIME.local_daemon = message.result
            address = message.result.address
            scene = bpy.data.scenes.get(scene_name)
            if scene is not None:
                scene.facecast.address = address
            follow(info_job(address, token), connected(address))

        follow(Job(lambda job: daemon.start(executable, token), "facecast-start-daemon"), started)
        return _connected_or_cancelled(self)


class FACECAST_OT_stop_daemon(bpy.types.Operator):
    """Stop the daemon this Blender session started"""

    bl_idname = "facecast.stop_daemon"
    bl_label = "Stop Local Daemon"

    @classmethod
    def poll(cls, context):
        return RUNTIME.local_daemon is not None

    def execute(self, context):
        RUNTIME.local_daemon.stop()
        RUNTIME.local_daemon, RUNTIME.info, RUNTIME.status = None, None, "Not connected (local daemon stopped)"
        return {"FINISHED"}


CLASSES = (FACECAST_OT_connect, FACECAST_OT_start_daemon, FACECAST_OT_stop_daemon)
