"""Facecast for Blender: generate, bake and live-preview ARKit facial animation from a facecast daemon.

Layout (as Blender's glTF add-on): modules without bpy hold the logic (:mod:`.keyframes`, :mod:`.rigmap`,
:mod:`.jobs`, :mod:`.live`, :mod:`.daemon`); thin bpy modules hold properties (:mod:`.props`), operators
(``ops_*``), the panels (:mod:`.ui`) and the writes into Blender data (:mod:`.apply`, :mod:`.testhead`).
The ``facecast`` package itself (client, motion contract, CSV, mapping presets, test head) comes from the
bundled ``facecast`` core wheel that ``plugins/blender/build_addon.py`` builds.
"""

from __future__ import annotations

# bpy modules are imported in register(), so the pure modules stay importable (and testable) without Blender.


def _class_modules() -> tuple:
    from . import ops_bake, ops_daemon, ops_live, ops_portrait, ops_takes, ui

    return ops_bake, ops_daemon, ops_live, ops_portrait, ops_takes, ui


def register() -> None:
    import atexit

    import bpy

    from . import props, runtime

    atexit.register(runtime.shutdown)  # Blender does not unregister add-ons on quit; the local daemon must stop
    props.register()
    for module in _class_modules():
        for cls in module.CLASSES:
            bpy.utils.register_class(cls)


def unregister() -> None:
    import atexit

    import bpy

    from . import ops_live, props, runtime

    ops_live.stop_preview("Not connected")
    runtime.shutdown()
    atexit.unregister(runtime.shutdown)
    for module in reversed(_class_modules()):
        for cls in reversed(module.CLASSES):
            bpy.utils.unregister_class(cls)
    props.unregister()
