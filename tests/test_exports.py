import gzip
import struct

import numpy as np
import pytest
from test_motion import make_clip

import facecast
from facecast.errors import InvalidInput
from facecast.exports import load_clip
from facecast.exports.livelink_csv import CSV_COLUMNS, format_timecode, parse_timecode
from facecast.motion import CHANNELS, LIVELINK_ANGLE_SCALE, MotionClip


def test_csv_header_is_the_apps(tmp_path):
    facecast.export(make_clip(), tmp_path / "take.csv")
    header = (tmp_path / "take.csv").read_text().splitlines()[0].split(",")
    assert header[:2] == ["Timecode", "BlendShapeCount"]
    # The app's order differs from the packet order for the Jaw/Mouth Left/Right pairs.
    assert header[16:19] == ["JawForward", "JawRight", "JawLeft"]
    assert header[23:25] == ["MouthRight", "MouthLeft"]
    assert sorted(header[2:]) == sorted(CHANNELS)


@pytest.mark.parametrize("fps", [24, 25, 30, 60])
def test_csv_round_trip(tmp_path, fps):
    clip = make_clip(frames=2 * fps + 7, fps=fps)
    clip.metadata["timecode_start"] = 3600 * 13 + 62.5
    facecast.export(clip, tmp_path / "take.csv")
    back = load_clip(tmp_path / "take.csv")
    assert back.fps == fps
    np.testing.assert_allclose(back.values, clip.values, atol=1e-5)
    assert abs(back.metadata["timecode_start"] - clip.metadata["timecode_start"]) < 1e-6


def test_csv_angles_in_app_units(tmp_path):
    clip = make_clip()
    facecast.export(clip, tmp_path / "take.csv")
    lines = (tmp_path / "take.csv").read_text().splitlines()
    header = lines[0].split(",")
    yaw = float(lines[1].split(",")[header.index("HeadYaw")])
    assert yaw == pytest.approx(clip.curve("HeadYaw")[0] / LIVELINK_ANGLE_SCALE, abs=1e-5)
    jaw_left = float(lines[1].split(",")[header.index("JawLeft")])
    assert jaw_left == pytest.approx(clip.curve("JawLeft")[0], abs=1e-5)


def test_timecode_format():
    assert format_timecode(13 * 3600 + 5 * 60 + 7 + 12 / 30, 30) == "13:05:07:12.000"
    assert parse_timecode("13:05:07:12.500", 60) == pytest.approx(13 * 3600 + 5 * 60 + 7 + 12.5 / 60)


def read_gesichter(path) -> tuple[list[tuple], np.ndarray]:
    """Packets of an LLV recording (see assets/SOURCES.md), decoded from the protocol description."""
    with gzip.open(path) as f:
        data = f.read()
    count = struct.unpack(">I", data[1:5])[0]
    offset, meta, values = 5, [], []
    for _ in range(count):
        size = struct.unpack(">I", data[offset:offset + 4])[0]
        packet = data[offset + 4:offset + 4 + size]
        offset += 4 + size
        pos = 1
        for _ in range(2):
            length = struct.unpack(">i", packet[pos:pos + 4])[0]
            pos += 4 + length
        frame, sub, num, den = struct.unpack(">ifii", packet[pos:pos + 16])
        n = packet[pos + 16]
        meta.append((packet[0], frame, num, den, n))
        values.append(struct.unpack(f">{n}f", packet[pos + 17:pos + 17 + 4 * n]))
    return meta, np.array(values, np.float32)


def test_real_live_link_face_recording_survives_a_csv_take(tmp_path, assets):
    meta, packet_values = read_gesichter(assets / "llv_dao.gesichter")
    assert {m[0] for m in meta} == {6} and {m[2:] for m in meta} == {(60, 1, 61)}
    values = packet_values.copy()
    values[:, 52:] *= LIVELINK_ANGLE_SCALE  # the app's scaled angles -> radians
    clip = MotionClip(60, values)
    facecast.export(clip, tmp_path / "dao.csv")
    back = load_clip(tmp_path / "dao.csv")
    np.testing.assert_allclose(back.values, clip.values, atol=1e-5)
    assert back.fps == 60


def test_real_recordings_in_shared_data(tmp_path, shared_data):
    recordings = sorted((shared_data / "arkit").glob("*.gesichter"))
    if not recordings:
        pytest.skip("no Live Link Face recordings in shared data")
    for path in recordings:
        _, values = read_gesichter(path)
        assert values.shape[1] == 61
        name = path.stem.split("-")[-1]
        if name in ("jawleft", "mouthleft", "headyaw", "eyeblinkleft"):
            driven = {"jawleft": "JawLeft", "mouthleft": "MouthLeft", "headyaw": "HeadYaw",
                      "eyeblinkleft": "EyeBlinkLeft"}[name]
            assert int(np.argmax(values.std(axis=0))) == CHANNELS.index(driven)


def test_json_round_trip_and_bad_extension(tmp_path):
    clip = make_clip()
    facecast.export(clip, tmp_path / "a.json")
    np.testing.assert_allclose(load_clip(tmp_path / "a.json").values, clip.values, atol=1e-6)
    with pytest.raises(InvalidInput, match="cannot write .xyz"):
        facecast.export(clip, tmp_path / "a.xyz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_broken_csv_is_named(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("Timecode,BlendShapeCount," + ",".join(CSV_COLUMNS) + "\n00:00:00:00.000,61,abc\n")
    with pytest.raises(InvalidInput, match="row 2 has a missing or non-numeric value"):
        load_clip(path)
    path.write_text("hello,world\n")
    with pytest.raises(InvalidInput, match="not a Live Link Face CSV take"):
        load_clip(path)
