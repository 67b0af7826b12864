"""glTF 2.0 export: Khronos validator clean, read back by pygltflib, curves equal to the CSV export."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pygltflib as gl
import pytest
from exports_helpers import THREE, node_tool, sample_clip, speech_clip, validate_gltf, weights_matrix

from facecast.character.joints import joint_rotations
from facecast.character.testhead import build_test_head
from facecast.errors import InvalidInput
from facecast.exports import export, load_clip
from facecast.exports.gltf import write_gltf


def read_accessor(gltf: gl.GLTF2, index: int) -> np.ndarray:
    accessor = gltf.accessors[index]
    view = gltf.bufferViews[accessor.bufferView]
    blob = gltf.binary_blob()
    width = {"SCALAR": 1, "VEC3": 3, "VEC4": 4}[accessor.type]
    dtype = np.float32 if accessor.componentType == gl.FLOAT else np.uint32
    start = view.byteOffset + (accessor.byteOffset or 0)
    return np.frombuffer(blob, dtype, accessor.count * width, start).reshape(accessor.count, width)


def sampled_tracks(path) -> tuple[gl.GLTF2, dict[tuple[int, str], tuple[np.ndarray, np.ndarray]]]:
    """(node, path) -> (key times, key values) of the file's first animation."""
    gltf = gl.GLTF2.load(str(path))
    animation = gltf.animations[0]
    tracks = {}
    for channel in animation.channels:
        sampler = animation.samplers[channel.sampler]
        assert sampler.interpolation == "LINEAR"
        times = read_accessor(gltf, sampler.input)[:, 0]
        values = read_accessor(gltf, sampler.output)
        tracks[(channel.target.node, channel.target.path)] = (times, values.reshape(len(times), -1))
    return gltf, tracks


def at_frames(times: np.ndarray, values: np.ndarray, frame_times: np.ndarray) -> np.ndarray:
    return np.stack([np.interp(frame_times, times, values[:, c]) for c in range(values.shape[1])], axis=1)


@pytest.mark.parametrize("max_error", [None, 0.005])
def test_standalone_glb_is_valid_and_matches_the_csv(tmp_path, max_error):
    clip = speech_clip()
    export(clip, tmp_path / "take.csv")
    csv_clip = load_clip(tmp_path / "take.csv")
    write_gltf(clip, tmp_path / "take.glb", max_error=max_error)

    report = validate_gltf(tmp_path / "take.glb")
    assert report["issues"]["numErrors"] == 0, report["issues"]["messages"]
    assert report["info"]["animationCount"] == 1 and report["info"]["hasMorphTargets"]

    gltf, tracks = sampled_tracks(tmp_path / "take.glb")
    head_mesh = gltf.meshes[gltf.nodes[0].mesh]
    names = head_mesh.extras["targetNames"]
    assert names == list(build_test_head().targets) and len(head_mesh.primitives[0].targets) == 52
    times, weights = tracks[(0, "weights")]
    sampled = at_frames(times, weights, csv_clip.times)
    tolerance = 1e-3 + (max_error or 0.0)
    assert np.abs(sampled - weights_matrix(csv_clip, names)).max() <= tolerance
    if max_error:
        assert len(times) < clip.num_frames  # keys were thinned
    else:
        assert np.allclose(times, clip.times, atol=1e-6)
    eye_nodes = {gltf.nodes[i].name: i for i in gltf.nodes[0].children}
    assert set(eye_nodes) == {"LeftEye", "RightEye"}
    assert {(0, "rotation"), (eye_nodes["LeftEye"], "rotation"), (eye_nodes["RightEye"], "rotation")} <= set(tracks)
    rotations = tracks[(0, "rotation")][1]
    assert np.allclose(np.linalg.norm(rotations, axis=1), 1.0, atol=1e-5)


def test_gltf_json_embeds_its_buffer(tmp_path):
    write_gltf(sample_clip(30), tmp_path / "take.gltf")
    assert validate_gltf(tmp_path / "take.gltf")["issues"]["numErrors"] == 0
    assert list(tmp_path.iterdir()) == [tmp_path / "take.gltf"]  # one self-contained file


def make_user_head(path, names: list[str], head_rotation: list[float]) -> None:
    """A minimal third-party-style head: a triangle with morph targets named ``names`` and a rotated Head node."""
    gltf = gl.GLTF2(scene=0, scenes=[gl.Scene(nodes=[0])])
    positions = np.array([[0, 0, 0], [0.1, 0, 0], [0, 0.1, 0]], np.float32)
    deltas = [np.full((3, 3), 0.01 * (i + 1), np.float32) for i in range(len(names))]
    blob = positions.tobytes() + b"".join(d.tobytes() for d in deltas)
    gltf.buffers = [gl.Buffer(byteLength=len(blob))]
    for i in range(1 + len(names)):
        gltf.bufferViews.append(gl.BufferView(buffer=0, byteOffset=36 * i, byteLength=36))
        array = positions if i == 0 else deltas[i - 1]
        gltf.accessors.append(gl.Accessor(bufferView=i, componentType=gl.FLOAT, count=3, type=gl.VEC3,
                                          min=array.min(0).tolist(), max=array.max(0).tolist()))
    primitive = gl.Primitive(attributes=gl.Attributes(POSITION=0),
                             targets=[{"POSITION": i + 1} for i in range(len(names))])
    weights = [0.25 if name.startswith("viseme") else 0.0 for name in names]  # an authored default pose
    gltf.meshes = [gl.Mesh(primitives=[primitive], weights=weights, extras={"targetNames": names})]
    gltf.nodes = [gl.Node(name="Armature", children=[1]), gl.Node(name="Head", rotation=head_rotation, children=[2]),
                  gl.Node(name="Face", mesh=0)]
    gltf.set_binary_blob(blob)
    gltf.save_binary(str(path))


def test_user_head_gets_the_animation_by_name_and_stays_untouched(tmp_path):
    names = ["jawOpen", "eyeBlinkLeft", "mouthSmileRight", "viseme_aa"]
    head = tmp_path / "user_head.glb"
    rest = [0.0, 0.0, 0.3826834, 0.9238795]  # 45 degrees about Z
    make_user_head(head, names, rest)
    before = hashlib.sha256(head.read_bytes()).hexdigest()
    clip = sample_clip()
    with pytest.warns(UserWarning, match="viseme_aa"):
        write_gltf(clip, tmp_path / "out.glb", head=head, preset="lowercamel")
    assert hashlib.sha256(head.read_bytes()).hexdigest() == before

    report = validate_gltf(tmp_path / "out.glb")
    assert report["issues"]["numErrors"] == 0, report["issues"]["messages"]
    gltf, tracks = sampled_tracks(tmp_path / "out.glb")
    times, weights = tracks[(2, "weights")]
    expected = weights_matrix(clip, ["JawOpen", "EyeBlinkLeft", "MouthSmileRight"])
    assert np.abs(weights[:, :3] - expected).max() < 1e-6
    assert np.all(weights[:, 3] == 0.25)  # the unmapped viseme keeps the head's default weight
    head_rotation = tracks[(1, "rotation")][1]
    clip_at_rest = sample_clip()
    clip_at_rest.values[:, 52:] = 0
    with pytest.warns(UserWarning, match="viseme_aa"):
        write_gltf(clip_at_rest, tmp_path / "rest.glb", head=head, preset="lowercamel")
    assert np.allclose(sampled_tracks(tmp_path / "rest.glb")[1][(1, "rotation")][1], rest, atol=1e-6)
    assert not np.allclose(head_rotation, rest, atol=1e-3)  # the take's head motion composes onto the rest pose


@pytest.mark.filterwarnings("ignore:pygltflib does not support")  # its note on our deliberately broken file
def test_user_head_without_matching_targets_is_a_clear_error(tmp_path):
    head = tmp_path / "odd.glb"
    make_user_head(head, ["blink", "smile"], [0.0, 0.0, 0.0, 1.0])
    with pytest.raises(InvalidInput, match="no morph target"):
        write_gltf(sample_clip(10), tmp_path / "out.glb", head=head)
    assert not (tmp_path / "out.glb").exists()
    with pytest.raises(InvalidInput, match="does not exist"):
        write_gltf(sample_clip(10), tmp_path / "out.glb", head=tmp_path / "missing.glb")
    (tmp_path / "broken.glb").write_bytes(b"glTF not really")
    with pytest.raises(InvalidInput, match="cannot read glTF head"):
        write_gltf(sample_clip(10), tmp_path / "out.glb", head=tmp_path / "broken.glb")


def test_threejs_plays_the_glb_with_the_takes_curves(tmp_path):
    """A third-party player: three.js's GLTFLoader and AnimationMixer, run headless in node."""
    clip = speech_clip()
    write_gltf(clip, tmp_path / "take.glb")
    played = json.loads(node_tool("threejs_sample.mjs", THREE, str(tmp_path / "take.glb"), str(clip.fps),
                                  str(clip.num_frames)))
    weights = np.array(played["weights"])
    assert np.abs(weights - weights_matrix(clip, played["targetNames"])).max() <= 1e-3
    for joint in ("Head", "LeftEye", "RightEye"):
        quats = np.array(played["nodes"][joint])
        alignment = np.abs(np.sum(quats * joint_rotations(clip, joint), axis=1))  # q and -q are one rotation
        assert alignment.min() > 1 - 1e-5, joint
