"""Render frames of an exported GLB with Blender (Workbench, background mode) into one PNG strip.

Runs inside Blender or a bpy venv; it imports the file with Blender's own glTF importer, so the picture also
shows that Blender reads our glTF animation. FRAMEs count at FPS (the take's frame rate). Usage:
    .venv-blender/bin/python tools/render_glb_preview.py take.glb out.png FPS FRAME [FRAME ...]
"""

import sys

import bpy
import numpy as np

path, output, fps, *frames = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
bpy.ops.wm.read_factory_settings(use_empty=True)
scene = bpy.context.scene
scene.render.fps = int(fps)  # the importer turns key times into frames at the scene's rate
bpy.ops.import_scene.gltf(filepath=path)
scene.render.engine = "BLENDER_WORKBENCH"
scene.display.shading.light = "STUDIO"
scene.display.shading.color_type = "VERTEX"  # the test head's colours are vertex colours (COLOR_0)
scene.render.resolution_x, scene.render.resolution_y = 360, 420
scene.render.film_transparent = False
camera = bpy.data.objects.new("Camera", bpy.data.cameras.new("Camera"))
scene.collection.objects.link(camera)
camera.location = (0.0, -0.62, 0.12)  # in front of the face (glTF +Z is Blender -Y)
camera.rotation_euler = (np.pi / 2, 0.0, 0.0)
camera.data.lens = 85
scene.camera = camera
strips = []
for frame in frames:
    scene.frame_set(int(frame))
    scene.render.filepath = f"{output}.{frame}.png"
    bpy.ops.render.render(write_still=True)
    image = bpy.data.images.load(scene.render.filepath)
    strips.append(np.array(image.pixels[:]).reshape(image.size[1], image.size[0], 4))
strip = np.concatenate(strips, axis=1)
result = bpy.data.images.new("strip", strip.shape[1], strip.shape[0], alpha=True)
result.pixels[:] = strip.ravel()
result.filepath_raw = output
result.file_format = "PNG"
result.save()
