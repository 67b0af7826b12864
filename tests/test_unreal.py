"""The Unreal bridge on loopback: Live Link Face packets decoded by an independent reader, the LLV recording,
pylivelinkface, takes, presenter frames, the CLI, and every error the bridge must survive."""

from __future__ import annotations

import io
import json
import math
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import wave

import av
import numpy as np
import pytest
from PIL import Image
from unreal_helpers import Receiver, parse_llf, read_gesichter

from facecast.audio import load_audio
from facecast.client import ServerError
from facecast.errors import AudioError, InvalidInput
from facecast.exports.livelink_csv import read_csv
from facecast.media import write_wav
from facecast.motion import BLENDSHAPES, CHANNELS, LIVELINK_ANGLE_SCALE, NUM_BLENDSHAPES, MotionClip
from facecast.unreal.bridge import Bridge
from facecast.unreal.packet import MAX_NAME_BYTES, decode_packet, device_id_for
from facecast.unreal.presenter import BOUNDARY, MjpegServer, present_with_subject, write_image_sequence
from facecast.unreal.sources import FolderQueue, MicrophoneSource, SpeechQueue, utterance_from_clip
from facecast.unreal.takes import write_take

from conftest import ASSETS, SHARED_DATA

DAO_DEVICE = "DEADC0DE-1337-1337-1337-CAFEBABE"


def known_clip(fps: int, frames: int, offset: float = 0.0) -> MotionClip:
    """Every channel of every frame different: blendshape c of frame i is (c + 1) / 100 + i / 1000; angles are
    radians that differ per channel and frame."""
    values = np.zeros((frames, len(CHANNELS)), np.float32)
    index = np.arange(frames)[:, None]
    values[:, :NUM_BLENDSHAPES] = (np.arange(NUM_BLENDSHAPES) + 1) / 100 + index / 1000 + offset
    values[:, NUM_BLENDSHAPES:] = (np.arange(len(CHANNELS) - NUM_BLENDSHAPES) - 4) * 0.05 + index / 2000
    return MotionClip(fps, values)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def events_of(collected: list, kind: str) -> list[tuple[str, str]]:
    return [(s, m) for s, k, m in collected if k == kind]


def test_every_packet_field_from_an_independent_reader(receiver):
    ada, bob = known_clip(60, 90), known_clip(30, 45, offset=0.3)
    with Bridge(daemon="127.0.0.1:1", port=receiver.port, device_name="stage-left") as bridge:
        for name, clip in (("Ada", ada), ("Bob", bob)):
            queue = SpeechQueue()
            queue.say(utterance_from_clip(name, clip))
            queue.close()
            bridge.add_subject(name, queue, fps=clip.fps)
        assert bridge.wait(timeout=30)
    time.sleep(0.2)
    received = receiver.by_subject()
    assert set(received) == {"Ada", "Bob"}
    for name, clip in (("Ada", ada), ("Bob", bob)):
        packets = [p for _, p in received[name]]
        assert len(packets) == clip.num_frames
        numbers = [p.frame_number for p in packets]
        assert numbers == list(range(numbers[0], numbers[0] + clip.num_frames))
        for i, p in enumerate(packets):
            assert p.version == 6
            assert p.device_id == device_id_for("stage-left") and len(p.device_id) == 36
            assert (p.fps_numerator, p.fps_denominator, p.count) == (clip.fps, 1, 61)
            assert 0 <= p.sub_frame < 1
            expected = clip.values[i].astype(np.float64)
            expected[NUM_BLENDSHAPES:] /= LIVELINK_ANGLE_SCALE
            np.testing.assert_allclose(p.values, expected, rtol=0, atol=1e-6)
        # the frame number is the time-of-day timecode at that fps, like the app's
        now = time.localtime()
        seconds_today = now.tm_hour * 3600 + now.tm_min * 60 + now.tm_sec
        assert abs(numbers[-1] / clip.fps - seconds_today) < 5 or seconds_today < 5


def test_streams_from_the_daemon_for_two_subjects(daemon, receiver, tmp_path):
    events = []
    with Bridge(daemon=daemon.address, port=receiver.port, takes=tmp_path, take_video=False,
                on_event=lambda *e: events.append(e)) as bridge:
        bridge.check_daemon()
        ada = bridge.add_subject("Ada", fps=60)
        bob = bridge.add_subject("Bob", fps=30)
        ada.say(ASSETS / "speech_en.wav")
        bob.say(ASSETS / "speech_de.wav")
        ada.source.close()
        bob.source.close()
        assert bridge.wait(timeout=60)
    time.sleep(0.2)
    assert not events_of(events, "error")
    received = receiver.by_subject()
    for subject in (ada, bob):
        packets = [p for _, p in received[subject.name]]
        assert len(packets) == subject.stats.frames > 0
        assert all(p.fps_numerator == subject.fps for p in packets)
        numbers = [p.frame_number for p in packets]
        assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
        values = np.array([p.values for p in packets])
        assert values[:, :NUM_BLENDSHAPES].min() >= 0 and values[:, :NUM_BLENDSHAPES].max() <= 1
        assert values[:, BLENDSHAPES.index("JawOpen")].max() > 0.1  # it talks
        take, = subject.stats.takes
        clip = read_csv(next(take.glob("*_iPhone.csv")))
        assert clip.num_frames == len(packets)
        # the take holds what went out: CSV values (6 significant digits) match the packets
        sent = values.copy()
        sent[:, NUM_BLENDSHAPES:] *= LIVELINK_ANGLE_SCALE
        np.testing.assert_allclose(clip.values, sent, atol=2e-5)
    with wave.open(str(next(ada.stats.takes[0].glob("*.wav")))) as w:
        assert abs(w.getnframes() / w.getframerate() - ada.stats.frames / 60) < 0.05


def test_pylivelinkface_reads_our_packets(receiver):
    pylivelinkface = pytest.importorskip("pylivelinkface")
    clip = known_clip(60, 3)
    with Bridge(daemon="127.0.0.1:1", port=receiver.port) as bridge:
        queue = SpeechQueue()
        queue.say(utterance_from_clip("c", clip))
        queue.close()
        bridge.add_subject("Npc_01", queue)
        assert bridge.wait(timeout=10)
    time.sleep(0.2)
    _, data = receiver.packets[0]
    ok, face = pylivelinkface.PyLiveLinkFace.decode(data)
    assert ok
    # pylivelinkface reads the low byte of the 36-byte id length ('$') as part of the id
    assert face.name == "Npc_01" and face.uuid == "$" + device_id_for("facecast") and face.fps == 60
    expected = clip.values[0].astype(np.float64)
    expected[NUM_BLENDSHAPES:] /= LIVELINK_ANGLE_SCALE
    np.testing.assert_allclose(face._blend_shapes, expected, atol=1e-6)


def test_the_real_recording_decodes_with_both_readers(assets):
    packets = read_gesichter(assets / "llv_dao.gesichter")
    assert len(packets) == 180
    parsed = [parse_llf(p) for p in packets]
    assert {(p.version, p.device_id, p.subject, p.fps_numerator, p.fps_denominator, p.count) for p in parsed} == {
        (6, DAO_DEVICE, "LLV Default Device", 60, 1, 61)}
    numbers = [p.frame_number for p in parsed]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    values = np.array([p.values for p in parsed])
    assert values[:, :NUM_BLENDSHAPES].min() >= 0 and values[:, :NUM_BLENDSHAPES].max() <= 1
    assert np.abs(values[:, NUM_BLENDSHAPES:]).max() < 1  # scaled angles
    for raw, independent in zip(packets, parsed, strict=True):
        ours = decode_packet(raw)
        assert (ours.device_id, ours.subject, ours.frame_number) == (DAO_DEVICE, independent.subject,
                                                                     independent.frame_number)
        again = ours.values.copy()
        again[NUM_BLENDSHAPES:] /= LIVELINK_ANGLE_SCALE
        np.testing.assert_allclose(again, independent.values, atol=1e-6)


def test_index_of_named_channels_matches_the_debug_recordings():
    if not (SHARED_DATA / "arkit").is_dir():
        pytest.skip(f"LLV debug recordings not found under {SHARED_DATA}")
    for name in ("JawLeft", "MouthLeft", "HeadYaw", "EyeBlinkLeft"):
        values = np.array([parse_llf(p).values for p in read_gesichter(
            SHARED_DATA / "arkit" / f"llv_debug-{name.lower()}.gesichter")])
        assert np.flatnonzero(np.abs(values).max(axis=0)).tolist() == [CHANNELS.index(name)]


def test_no_daemon_is_reported_and_other_subjects_keep_playing(receiver):
    events = []
    with Bridge(daemon="127.0.0.1:1", port=receiver.port, on_event=lambda *e: events.append(e)) as bridge:
        with pytest.raises(ServerError, match="no facecast daemon at 127.0.0.1:1"):
            bridge.check_daemon(timeout=1)
        talker = bridge.add_subject("Talker")
        talker.say(ASSETS / "speech_en.wav")
        talker.source.close()
        queue = SpeechQueue()
        queue.say(utterance_from_clip("clip", known_clip(60, 30)))
        queue.close()
        bridge.add_subject("Player", queue)
        assert bridge.wait(timeout=30)
    time.sleep(0.2)
    errors = events_of(events, "error")
    assert errors and errors[0][0] == "Talker" and "no facecast daemon at 127.0.0.1:1" in errors[0][1]
    assert len(receiver.by_subject()["Player"]) == 30


def test_wrong_fps_clip_is_refused_and_the_subject_goes_on(receiver):
    events = []
    with Bridge(daemon="127.0.0.1:1", port=receiver.port, on_event=lambda *e: events.append(e)) as bridge:
        queue = SpeechQueue()
        queue.say(utterance_from_clip("slow", known_clip(30, 10)))
        queue.say(utterance_from_clip("right", known_clip(60, 12)))
        queue.close()
        subject = bridge.add_subject("Npc", queue, fps=60)
        assert bridge.wait(timeout=10)
    time.sleep(0.2)
    (name, message), = events_of(events, "error")
    assert name == "Npc" and "is 30 fps but subject 'Npc' sends 60 fps" in message
    assert subject.stats.utterances == 1 and len(receiver.packets) == 12


def test_bad_names_hosts_and_ports_get_clear_errors(receiver):
    with pytest.raises(InvalidInput, match="cannot resolve Live Link host 'no-such-host.invalid'"):
        Bridge(host="no-such-host.invalid")
    with pytest.raises(InvalidInput, match="port must be 1..65535"):
        Bridge(port=70000)
    with Bridge(daemon="127.0.0.1:1", port=receiver.port) as bridge:
        bridge.add_subject("Kept")
        with pytest.raises(InvalidInput, match=f"limited to {MAX_NAME_BYTES} bytes"):
            bridge.add_subject("N" * (MAX_NAME_BYTES + 1))
        with pytest.raises(InvalidInput, match="already a subject named 'Kept'"):
            bridge.add_subject("Kept")
        with pytest.raises(InvalidInput, match="non-empty"):
            bridge.add_subject(" ")
        assert list(bridge.subjects) == ["Kept"]
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    try:
        with pytest.raises(InvalidInput, match=f"port {busy.getsockname()[1]} on 127.0.0.1 is already in use"):
            MjpegServer(port=busy.getsockname()[1])
    finally:
        busy.close()


def test_folder_queue_plays_files_in_order_and_skips_bad_ones(tmp_path):
    errors = []
    queue = FolderQueue(tmp_path, poll_seconds=0.05, on_error=errors.append)
    (tmp_path / "2_second.wav").write_bytes((ASSETS / "speech_de.wav").read_bytes())
    (tmp_path / "1_first.wav").write_bytes((ASSETS / "speech_en.wav").read_bytes())
    (tmp_path / "0_broken.wav").write_bytes(b"RIFF nonsense")
    (tmp_path / "notes.txt").write_text("ignored")
    names = []
    for utterance in queue.utterances():
        names.append(utterance.name)
        if len(names) == 2:
            queue.close()
    assert names == ["1_first", "2_second"]
    assert len(errors) == 1 and "0_broken.wav" in errors[0]
    with pytest.raises(InvalidInput, match="does not exist"):
        FolderQueue(tmp_path / "missing")


def test_take_folder_matches_the_live_link_face_layout(tmp_path):
    clip = known_clip(60, 120)
    audio = np.sin(np.linspace(0, 400, 32000)).astype(np.float32) * 0.3
    take = write_take(tmp_path, clip, audio, 16000, "Ada Lovelace", start_seconds=3600 + 0.5)
    assert take.name.endswith("_Ada_Lovelace_1") and len(take.name.split("_")[0]) == 8
    prefix = "Ada_Lovelace_1_iPhone"
    assert sorted(p.name for p in take.iterdir()) == sorted([
        "take.json", "video_metadata.json", "audio_metadata.json", "frame_log.csv", "thumbnail.jpg",
        f"{prefix}.csv", f"{prefix}.mov", f"{prefix}.wav"])
    meta = json.loads((take / "take.json").read_text())
    assert meta["frames"] == 120 and meta["slate"] == "Ada_Lovelace" and meta["take"] == 1
    assert meta["identifier"] == take.name and meta["subject"] == "iPhone" and meta["calibrated"] is False
    assert {"appVersion", "date", "version", "deviceModel"} <= set(meta)
    assert f"{meta['slate']}_{meta['take']}_{meta['subject']}.csv" == f"{prefix}.csv"  # how Unreal finds the CSV
    video = json.loads((take / "video_metadata.json").read_text())
    assert video["FrameRate"] == 60 and video["Dimensions"]["width"] > 0
    assert json.loads((take / "audio_metadata.json").read_text())["SampleRate"] == 48000  # as the app records
    log = (take / "frame_log.csv").read_text().splitlines()
    assert log[0] == "V,0,0,60,01:00:00:30.000,0" and log[-1].startswith("A,0,0,60,01:00:00:30.000")
    back = read_csv(take / f"{prefix}.csv")
    np.testing.assert_allclose(back.values, clip.values, atol=1e-5)
    assert back.fps == 60 and abs(back.metadata["timecode_start"] - 3600.5) < 1e-6
    with av.open(str(take / f"{prefix}.mov")) as mov:
        kinds = sorted(s.type for s in mov.streams)
        assert kinds == ["audio", "data", "video"]  # data: the QuickTime timecode track
        assert mov.streams.audio[0].sample_rate == 48000
        assert sum(1 for _ in mov.decode(video=0)) == 120
    with wave.open(str(take / f"{prefix}.wav")) as w:
        assert w.getframerate() == 48000 and abs(w.getnframes() - 96000) <= 2
    assert write_take(tmp_path, clip, None, 16000, "Ada Lovelace", video=False).name.endswith("_2")


def ffprobe_streams(path) -> list[dict]:
    done = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_tag_string:"
                           "stream_tags=timecode", "-of", "json", str(path)], capture_output=True, text=True,
                          timeout=30, check=True)
    return json.loads(done.stdout)["streams"]


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="needs ffprobe (apt install ffmpeg)")
@pytest.mark.parametrize("fps", [30, 60])
def test_take_mov_timecode_track_equals_the_csv_first_timecode(tmp_path, fps):
    clip = known_clip(fps, fps)
    take = write_take(tmp_path, clip, np.zeros(16000, np.float32), 16000, "Tc", start_seconds=12 * 3600 + 27 * 60 +
                      47 + 17.25 / fps)
    first_row = (take / "Tc_1_iPhone.csv").read_text().splitlines()[1]
    csv_timecode = first_row.split(",")[0]
    assert csv_timecode.startswith("12:27:47:17.2")  # the app's HH:MM:SS:FF.mmm
    streams = ffprobe_streams(take / "Tc_1_iPhone.mov")
    tmcd = [s for s in streams if s.get("codec_tag_string") == "tmcd"]
    assert len(tmcd) == 1, streams
    assert tmcd[0]["tags"]["timecode"] == csv_timecode.split(".")[0] == "12:27:47:17"
    log = (take / "frame_log.csv").read_text().splitlines()[0].split(",")
    assert log[4].split(".")[0] == "12:27:47:17"  # Capture Manager's video timecode agrees with both


def test_take_video_shows_the_test_head_performing_the_take(tmp_path):
    """The .mov is the head (skin-coloured pixels in the middle, moving with the jaw), not a still card."""
    values = np.zeros((30, len(CHANNELS)), np.float32)
    values[:, CHANNELS.index("JawOpen")] = np.linspace(0.0, 1.0, 30)
    take = write_take(tmp_path, MotionClip(30, values), None, 16000, "Head", start_seconds=0.0)
    frames = [f.to_ndarray(format="rgb24") for f in av.open(str(take / "Head_1_iPhone.mov")).decode(video=0)]
    assert len(frames) == 30 and frames[0].shape == (640, 360, 3)
    centre = frames[0][170:330, 130:230].reshape(-1, 3).astype(int)
    skin = (centre[:, 0] > 100) & (centre[:, 0] > centre[:, 2] + 30)
    assert skin.mean() > 0.5
    mouth = (slice(260, 380), slice(120, 240))
    assert np.abs(frames[-1][mouth].astype(int) - frames[0][mouth].astype(int)).mean() > 5  # the mouth opened
    thumb = np.asarray(Image.open(take / "thumbnail.jpg"))
    assert thumb.shape == (640, 360, 3)


def test_mjpeg_stream_serves_frames_in_order_with_audio():
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255)]
    frames = [np.full((48, 64, 3), c, np.uint8) for c in colours]
    with MjpegServer(port=0) as server:
        player = threading.Thread(target=server.play, args=(frames, 30, np.zeros(1600, np.float32), 16000,
                                                            time.monotonic() + 0.5))
        player.start()
        with urllib.request.urlopen(server.url, timeout=5) as response:
            assert response.headers["Content-Type"] == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
            body = response.read()
        player.join()
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/audio.wav", timeout=5) as response:
            assert response.read(4) == b"RIFF"
    parts = [p for p in body.split(f"--{BOUNDARY}\r\n".encode()) if p]
    indices, seen = [], []
    for part in parts:
        head, _, jpeg = part.partition(b"\r\n\r\n")
        indices.append(int(head.split(b"X-Frame-Index: ")[1].split(b"\r\n")[0]))
        seen.append(np.asarray(Image.open(io.BytesIO(jpeg.rstrip(b"\r\n")))).reshape(-1, 3).mean(0))
    assert indices == sorted(indices) and indices[-1] == len(frames) - 1
    for index, colour in zip(indices, seen, strict=True):
        assert np.abs(colour - colours[index]).max() < 10
    gaps = np.diff(server.publisher.published)
    assert len(server.publisher.published) == len(frames) and (gaps > 0).all()


def test_image_sequence_for_media_framework(tmp_path):
    frames = [np.full((32, 32, 3), i * 40, np.uint8) for i in range(5)]
    folder = write_image_sequence(tmp_path / "presenter", frames, 25, np.zeros(16000, np.float32), 16000)
    assert sorted(p.name for p in folder.iterdir()) == ["audio.wav"] + [f"frame_{i:06d}.jpg" for i in range(5)] + [
        "sequence.json"]
    meta = json.loads((folder / "sequence.json").read_text())
    assert meta["fps"] == 25 and meta["frames"] == 5 and meta["audio"] == "audio.wav"
    with pytest.raises(InvalidInput, match="already exists"):
        write_image_sequence(folder, frames, 25)
    with pytest.raises(InvalidInput, match="fps"):
        write_image_sequence(tmp_path / "other", frames, 29)
    assert not (tmp_path / "other").exists() and not list(tmp_path.glob(".*partial"))


def test_cli_streams_and_the_monitor_prints_packets(daemon, tmp_path):
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    monitor = subprocess.Popen([sys.executable, "-m", "facecast", "unreal", "monitor", "--port", str(port),
                                "--count", "5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    busy = subprocess.run([sys.executable, "-m", "facecast", "unreal", "monitor", "--port", str(port)],
                          capture_output=True, text=True, timeout=30)
    assert busy.returncode == 1 and f"port {port} on 127.0.0.1 is already in use" in busy.stderr
    assert "Traceback" not in busy.stderr
    stream = subprocess.run([sys.executable, "-m", "facecast", "unreal", "stream", "--daemon", daemon.address,
                             "--port", str(port), "--subject", f"Ada={ASSETS / 'speech_en.wav'}",
                             "--takes", str(tmp_path), "--no-video"], capture_output=True, text=True, timeout=60)
    assert stream.returncode == 0, stream.stderr
    out, _ = monitor.communicate(timeout=30)
    assert monitor.returncode == 0
    lines = out.splitlines()
    assert len(lines) == 5 and all(line.startswith("Ada frame ") and "@ 30/1 fps" in line for line in lines)
    assert len(list(tmp_path.glob("*_Ada_1/Ada_1_iPhone.csv"))) == 1
    nodaemon = subprocess.run([sys.executable, "-m", "facecast", "unreal", "stream", "--daemon", "127.0.0.1:1",
                               "--subject", f"Ada={ASSETS / 'speech_en.wav'}"], capture_output=True, text=True,
                              timeout=60)
    assert nodaemon.returncode == 1 and "no facecast daemon at 127.0.0.1:1" in nodaemon.stderr


def test_angle_units_agree_with_the_contract():
    sys.path.insert(0, str(ASSETS.parent / "plugins" / "unreal_bridge"))
    import facecast_take_curves

    assert math.isclose(math.radians(facecast_take_curves.ANGLE_UNIT_DEGREES), LIVELINK_ANGLE_SCALE)


def test_presenter_frames_start_with_the_live_link_subject(receiver):
    clip = known_clip(30, 20)
    frames = [np.full((16, 16, 3), 10 * i, np.uint8) for i in range(clip.num_frames)]
    with MjpegServer(port=0) as server, Bridge(daemon="127.0.0.1:1", port=receiver.port) as bridge:
        present_with_subject(server, bridge, "Host", clip, frames, np.zeros(8000, np.float32), 16000)
        subject = bridge.subjects["Host"]
    # one clock: picture frame i and Live Link frame i share the deadline start + i / fps
    assert server.publisher.start == subject.log.deadlines[0]
    assert len(server.publisher.published) == len(subject.log.sent_at) == clip.num_frames
    offsets = np.subtract(server.publisher.published, subject.log.sent_at) * 1000
    print(f"\npicture minus packet time, ms: median {np.median(offsets):.2f}, max {np.abs(offsets).max():.2f}")


def test_present_cli_renders_the_portrait_to_an_image_sequence(daemon, tmp_path):
    speech = tmp_path / "short.wav"
    audio = load_audio(ASSETS / "speech_en.wav")
    write_wav(speech, audio.samples[:int(1.5 * audio.sample_rate)], audio.sample_rate)
    out = tmp_path / "presenter"
    done = subprocess.run([sys.executable, "-m", "facecast", "unreal", "present", str(speech), "--image",
                           str(ASSETS / "mona_lisa.jpg"), "--size", "128", "--fps", "24", "--sequence", str(out),
                           "--daemon", daemon.address], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    meta = json.loads((out / "sequence.json").read_text())
    assert meta["fps"] == 24 and meta["frames"] == 36 and (meta["width"], meta["height"]) == (128, 128)
    first, middle = (np.asarray(Image.open(out / f"frame_{i:06d}.jpg"), np.float32) for i in (0, 18))
    assert first.std() > 10 and np.abs(first - middle).mean() > 0.1  # a portrait, and it moves
    with wave.open(str(out / "audio.wav")) as w:
        assert abs(w.getnframes() / w.getframerate() - 1.5) < 0.01


def test_microphone_and_playback_say_what_they_need():
    try:
        import sounddevice

        sounddevice.query_devices(kind="input")
        pytest.skip("this machine has a working audio stack, so the missing-PortAudio message cannot show")
    except (ImportError, OSError, ValueError, RuntimeError):
        pass
    with pytest.raises(AudioError, match="PortAudio|cannot open microphone"):
        MicrophoneSource()
    with pytest.raises(AudioError, match="PortAudio"):
        Bridge(play_audio=True)


def test_take_cli_writes_a_take_from_the_daemon(daemon, tmp_path):
    done = subprocess.run([sys.executable, "-m", "facecast", "unreal", "take", str(ASSETS / "speech_de.wav"), "-o",
                           str(tmp_path), "--slate", "Narrator", "--fps", "30", "--no-video", "--daemon",
                           daemon.address], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    take, = tmp_path.glob("*_Narrator_1")
    clip = read_csv(take / "Narrator_1_iPhone.csv")
    assert clip.fps == 30 and clip.num_frames == json.loads((take / "take.json").read_text())["frames"] > 100
    assert not (take / "Narrator_1_iPhone.mov").exists() and (take / "Narrator_1_iPhone.wav").exists()
