"""glTF 2.0 export (``.glb`` binary, ``.gltf`` JSON with the buffer embedded): morph-target weight animation.

Two modes:

- no ``head``: a standalone file with the shipped ARKit test head (:mod:`facecast.character.testhead`), so the take
  plays in any glTF viewer;
- ``head="user_head.glb"``: the user's own head with the take added as a new animation. Morph targets are
  matched by name (``mesh.extras.targetNames``, as Blender and three.js write them) through a mapping preset
  (:mod:`facecast.character.rig_mapping`); targets no ARKit channel drives keep the mesh's default weight and are
  reported in a warning.
  The input file is only read.

Morph weights animate through a channel with path ``weights`` (one LINEAR sampler per animated node). Head and
eye angles become node ``rotation`` channels (see :mod:`facecast.character.joints` for the axes: glTF is +Y up,
+Z forward) on the nodes called Head / LeftEye / RightEye (or their rig-specific spellings), composed after the
node's rest rotation. Keys sit at every frame of the clip, or are thinned with ``max_error``.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pygltflib as gl

from facecast._version import __version__
from facecast.character.joints import HEAD, JOINT_NODE_NAMES, joint_rotations, multiply
from facecast.character.rig_mapping import Preset, match_targets, normalize
from facecast.character.testhead import MeshData, build_test_head
from facecast.errors import InvalidInput
from facecast.exports.keyreduce import reduce_keys
from facecast.exports.sidecar import audio_beside
from facecast.fileio import atomic_path
from facecast.motion import CHANNEL_INDEX, MotionClip

if TYPE_CHECKING:
    from facecast.audio import Audio

ANIMATION_NAME = "facecast"


class _Buffer:
    """Accumulates binary data and its bufferViews/accessors on a :class:`pygltflib.GLTF2`."""

    def __init__(self, gltf: gl.GLTF2, data: bytes = b"") -> None:
        self.gltf = gltf
        self.data = bytearray(data)

    def add(self, array: np.ndarray, accessor_type: str, target: int | None = None, bounds: bool = False) -> int:
        """Append ``array`` (float32 or uint32) and return the index of its new accessor."""
        array = np.ascontiguousarray(array)
        component = gl.FLOAT if array.dtype == np.float32 else gl.UNSIGNED_INT
        rows = array.reshape(len(array), -1)
        accessor = gl.Accessor(bufferView=self._view(array, target), componentType=component, count=len(rows),
                               type=accessor_type)
        if bounds:
            accessor.min = rows.min(axis=0).tolist()
            accessor.max = rows.max(axis=0).tolist()
        self.gltf.accessors.append(accessor)
        return len(self.gltf.accessors) - 1

    def add_sparse(self, array: np.ndarray) -> int:
        """Append a VEC3 float32 array that is mostly zero as a sparse accessor (only the moved rows stored)."""
        rows = np.flatnonzero(np.any(array != 0, axis=1)).astype(np.uint32)
        accessor = gl.Accessor(componentType=gl.FLOAT, count=len(array), type=gl.VEC3, byteOffset=None,
                               min=array.min(axis=0).tolist(), max=array.max(axis=0).tolist())
        if len(rows):
            indices_view = self._view(rows)
            values_view = self._view(np.ascontiguousarray(array[rows], np.float32))
            indices = gl.AccessorSparseIndices(bufferView=indices_view, componentType=gl.UNSIGNED_INT)
            accessor.sparse = gl.Sparse(count=len(rows), indices=indices,
                                        values=gl.AccessorSparseValues(bufferView=values_view))
        self.gltf.accessors.append(accessor)
        return len(self.gltf.accessors) - 1

    def _view(self, array: np.ndarray, target: int | None = None) -> int:
        self.data.extend(b"\0" * (-len(self.data) % 4))
        self.gltf.bufferViews.append(gl.BufferView(buffer=0, byteOffset=len(self.data), byteLength=array.nbytes,
                                                   target=target))
        self.data.extend(array.tobytes())
        return len(self.gltf.bufferViews) - 1

    def finish(self) -> None:
        self.data.extend(b"\0" * (-len(self.data) % 4))
        self.gltf.buffers = [gl.Buffer(byteLength=len(self.data))]
        self.gltf.set_binary_blob(bytes(self.data))


@dataclass
class _Track:
    """One animated node property (morph weights or rotation) sampled at every frame of the take."""

    node: int
    path: str  # "weights" or "rotation"
    values: np.ndarray  # [T, C] at every frame


def write_gltf(clip: MotionClip, path: str | os.PathLike[str], head: str | os.PathLike[str] | None = None,
               preset: Preset = "arkit", max_error: float | None = None, audio: Audio | None = None) -> None:
    """Write ``clip`` as a glTF 2.0 animation (``.glb`` or ``.gltf`` by extension), atomically.

    ``head`` is a user's ``.glb``/``.gltf`` to animate (targets matched through ``preset``); without it the file
    holds the ARKit test head. ``max_error`` thins keys so curves stay within it (weights: 0..1 units;
    rotations: quaternion components). With ``audio`` the speech is written beside the file (``take.wav``) and
    named in the animation's ``extras.audio`` (``uri``, ``mimeType``, ``startTime`` 0 = the first frame); glTF
    has no ratified audio extension yet.
    """
    if head is None:
        gltf, buffer, tracks = _test_head_document(clip)
        gltf.asset = gl.Asset(version="2.0", generator=f"facecast {__version__}")
    else:
        gltf, buffer, tracks = _user_head_document(clip, head, preset)  # keeps the head's own asset info
    _add_animation(gltf, buffer, tracks, clip, max_error)
    buffer.finish()
    binary = os.fspath(path).lower().endswith(".glb")
    if not binary:
        gltf.convert_buffers(gl.BufferFormat.DATAURI)
    with audio_beside(path, audio) as wav, atomic_path(path) as tmp:
        if wav is not None:
            gltf.animations[-1].extras = {"audio": {"uri": wav, "mimeType": "audio/wav", "startTime": 0.0}}
        if binary:
            gltf.save_binary(tmp)
        else:
            gltf.save_json(tmp)


def _add_mesh(gltf: gl.GLTF2, buffer: _Buffer, mesh: MeshData, material: int, name: str,
              targets: dict[str, np.ndarray] | None = None) -> int:
    attributes = gl.Attributes(
        POSITION=buffer.add(mesh.positions, gl.VEC3, gl.ARRAY_BUFFER, bounds=True),
        NORMAL=buffer.add(mesh.normals, gl.VEC3, gl.ARRAY_BUFFER))
    if mesh.colors is not None:
        attributes.COLOR_0 = buffer.add(mesh.colors, gl.VEC3, gl.ARRAY_BUFFER)
    primitive = gl.Primitive(attributes=attributes, material=material,
                             indices=buffer.add(mesh.indices, gl.SCALAR, gl.ELEMENT_ARRAY_BUFFER))
    gltf_mesh = gl.Mesh(name=name, primitives=[primitive])
    if targets:
        # Each target moves one region of the face, so sparse accessors keep the file small.
        primitive.targets = [{"POSITION": buffer.add_sparse(delta)} for delta in targets.values()]
        gltf_mesh.weights = [0.0] * len(targets)
        gltf_mesh.extras = {"targetNames": list(targets)}
    gltf.meshes.append(gltf_mesh)
    return len(gltf.meshes) - 1


def _material(gltf: gl.GLTF2, name: str, color: tuple[float, float, float], roughness: float) -> int:
    gltf.materials.append(gl.Material(name=name, pbrMetallicRoughness=gl.PbrMetallicRoughness(
        baseColorFactor=[*color, 1.0], metallicFactor=0.0, roughnessFactor=roughness)))
    return len(gltf.materials) - 1


def _test_head_document(clip: MotionClip) -> tuple[gl.GLTF2, _Buffer, list[_Track]]:
    head = build_test_head()
    gltf = gl.GLTF2(scene=0, scenes=[gl.Scene(name="facecast test head", nodes=[0])])
    buffer = _Buffer(gltf)
    # Vertex colours (COLOR_0) carry skin, lips, brows and irises; glTF multiplies them by the base colour.
    skin = _material(gltf, "skin", (1.0, 1.0, 1.0), 0.6)
    eye_material = _material(gltf, "eye", (1.0, 1.0, 1.0), 0.2)
    gltf.nodes.append(gl.Node(name=HEAD, mesh=_add_mesh(gltf, buffer, head.mesh, skin, "HeadMesh", head.targets)))
    tracks = [_Track(0, "weights", clip.values[:, [CHANNEL_INDEX[n] for n in head.targets]]),
              _Track(0, "rotation", joint_rotations(clip, HEAD))]
    for eye in head.eyes:
        gltf.nodes[0].children.append(len(gltf.nodes))
        tracks.append(_Track(len(gltf.nodes), "rotation", joint_rotations(clip, eye.name)))
        gltf.nodes.append(gl.Node(name=eye.name, translation=list(eye.translation),
                                  mesh=_add_mesh(gltf, buffer, eye.mesh, eye_material, f"{eye.name}Mesh")))
    return gltf, buffer, tracks


def target_names(gltf: gl.GLTF2, mesh_index: int) -> list[str]:
    """A mesh's morph target names from ``mesh.extras.targetNames`` (or its first primitive's extras)."""
    mesh = gltf.meshes[mesh_index]
    count = len(mesh.primitives[0].targets or [])
    for extras in (mesh.extras, mesh.primitives[0].extras):
        names = extras.get("targetNames") if isinstance(extras, dict) else None
        if isinstance(names, list) and len(names) == count:
            return [str(n) for n in names]
    return [f"target_{i}" for i in range(count)]


def _load_head(head: str | os.PathLike[str]) -> gl.GLTF2:
    head = os.fspath(head)
    if not os.path.exists(head):
        raise InvalidInput(f"head file {head} does not exist")
    if not head.lower().endswith((".glb", ".gltf")):
        raise InvalidInput(f"head file {head} must be a .glb or .gltf file")
    try:
        gltf = gl.GLTF2.load(head)
        gltf.convert_buffers(gl.BufferFormat.BINARYBLOB)  # one blob, whatever the buffers were
    except Exception as e:  # pygltflib raises many kinds of errors for damaged files
        raise InvalidInput(f"cannot read glTF head {head}: {e}") from None
    if gltf is None or not gltf.meshes:
        raise InvalidInput(f"glTF head {head} holds no mesh")
    for accessor in gltf.accessors:
        if accessor.bufferView is None:  # pygltflib fills in byteOffset=0, which glTF forbids without a bufferView
            accessor.byteOffset = None
    return gltf


def _user_head_document(clip: MotionClip, head: str | os.PathLike[str],
                        preset: Preset) -> tuple[gl.GLTF2, _Buffer, list[_Track]]:
    gltf = _load_head(head)
    buffer = _Buffer(gltf, gltf.binary_blob() or b"")
    tracks: list[_Track] = []
    unmapped: set[str] = set()
    matched = 0
    for node_index, node in enumerate(gltf.nodes):
        if node.mesh is None or not gltf.meshes[node.mesh].primitives[0].targets:
            continue
        names = target_names(gltf, node.mesh)
        mapping, missing = match_targets(names, preset)
        unmapped.update(missing)
        matched += len(mapping)
        # Targets no channel drives hold the mesh's own default weight all through the take.
        defaults = gltf.meshes[node.mesh].weights or [0.0] * len(names)
        columns = np.tile(np.asarray(defaults, np.float32), (clip.num_frames, 1))
        for i, name in enumerate(names):
            if name in mapping:
                columns[:, i] = clip.values[:, CHANNEL_INDEX[mapping[name]]]
        tracks.append(_Track(node_index, "weights", columns))
    if not matched:
        raise InvalidInput(f"no morph target of {os.fspath(head)} matches an ARKit name under preset {preset!r}; "
                           "choose another --preset or give a custom mapping")
    if unmapped:
        warnings.warn(f"{len(unmapped)} morph target(s) of {os.fspath(head)} match no ARKit channel and keep their "
                      f"default weight: {', '.join(sorted(unmapped)[:8])}{'…' if len(unmapped) > 8 else ''}",
                      stacklevel=3)
    for joint, candidates in JOINT_NODE_NAMES.items():
        found = next((i for i, n in enumerate(gltf.nodes) if n.name and normalize(n.name) in candidates), None)
        if found is None:
            continue
        node = gltf.nodes[found]
        if node.matrix is not None and node.matrix != [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]:
            warnings.warn(f"node {node.name!r} has a matrix transform; glTF cannot animate it, so {joint} "
                          "rotations are left out", stacklevel=3)
            continue
        rest = np.asarray(node.rotation or [0.0, 0.0, 0.0, 1.0], np.float64)
        tracks.append(_Track(found, "rotation", multiply(rest, joint_rotations(clip, joint))))
    return gltf, buffer, tracks


def _add_animation(gltf: gl.GLTF2, buffer: _Buffer, tracks: list[_Track], clip: MotionClip,
                   max_error: float | None) -> None:
    if clip.num_frames == 0:
        raise InvalidInput("the take has no frames; there is nothing to animate")
    times = clip.times.astype(np.float32)
    animation = gl.Animation(name=ANIMATION_NAME)
    time_accessors: dict[bytes, int] = {}  # tracks that keep the same frames share one input accessor
    for track in tracks:
        keep = reduce_keys(track.values, max_error)
        if keep.tobytes() not in time_accessors:
            time_accessors[keep.tobytes()] = buffer.add(times[keep], gl.SCALAR, bounds=True)
        kept = np.ascontiguousarray(track.values[keep], np.float32)
        output = buffer.add(kept.reshape(-1), gl.SCALAR) if track.path == "weights" else buffer.add(kept, gl.VEC4)
        animation.samplers.append(gl.AnimationSampler(input=time_accessors[keep.tobytes()], output=output,
                                                      interpolation="LINEAR"))
        animation.channels.append(gl.AnimationChannel(
            sampler=len(animation.samplers) - 1, target=gl.AnimationChannelTarget(node=track.node, path=track.path)))
    gltf.animations.append(animation)
