"""The 3-D character vocabulary every exporter and the Blender add-on share; numpy only, no file formats.

- :mod:`facecast.character.rig_mapping`: which shape key / morph target of a rig each ARKit blendshape drives
  (presets for ARKit, lowerCamel, Faceit, Character Creator, MetaHuman-style rigs, and custom tables).
- :mod:`facecast.character.joints`: the head and eye joints, their names in rigs, axes and rotations.
- :mod:`facecast.character.testhead`: the procedural ARKit test head (mesh and 52 morph targets).

Nothing here imports an export format, the renderer or the daemon, so the add-on's core wheel carries this
package whole.
"""
