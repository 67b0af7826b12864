"""The Audio2Face-3D compatible endpoint, driven by a client built from NVIDIA's own published protos.

That client (tests/helpers/a2f_client.py) runs in ``.venv-a2f`` with the PyPI wheels ``nvidia-audio2face-3d``
and ``nvidia-ace`` (they pin an older grpcio, hence the separate venv), against a real
``facecast serve --a2f-compat`` on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import subprocess
import sys
import venv
from pathlib import Path

import grpc
import numpy as np
import pytest
import soundfile as sf
from grpc_health.v1 import health_pb2, health_pb2_grpc

from facecast.motion import BLENDSHAPES
from facecast.proto.a2f.nvidia_ace import animation_pb2, audio_pb2, status_pb2
from facecast.proto.a2f.nvidia_audio2face_3d import audio2face_pb2, messages_pb2
from facecast.server.a2f import SERVICE_NAME

from daemon import Daemon

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-a2f"
CLIENT = ROOT / "tests" / "helpers" / "a2f_client.py"
SPEECH = str(ROOT / "assets" / "speech_en.wav")
A2F_WHEELS = ("nvidia-audio2face-3d", "nvidia-ace")
sys.path.insert(0, str(CLIENT.parent))
import proto_shape  # noqa: E402 - lives beside the client, shared with it


def _venv_python() -> Path:
    """``.venv-a2f``'s python with NVIDIA's wheels, building the venv when missing; skip if that fails."""
    python = VENV / "bin" / "python"
    probe = [str(python), "-c", "import nvidia_audio2face_3d, nvidia_ace"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    try:
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *A2F_WHEELS], check=True, capture_output=True,
                       timeout=300)
    except (subprocess.SubprocessError, OSError) as e:
        output = getattr(e, "stderr", b"") or b""
        pytest.skip(f"cannot build .venv-a2f with {', '.join(A2F_WHEELS)} from PyPI: {e} {output.decode()[-300:]}")
    return python


@pytest.fixture(scope="module")
def a2f_python() -> Path:
    return _venv_python()


def a2f_port(daemon: Daemon) -> int:
    """The Audio2Face-3D port from the ready line: ``... (a2f-compat on HOST:PORT)``."""
    match = re.search(r"\(a2f-compat on \S+:(\d+)\)", daemon.ready_line)
    assert match, daemon.ready_line
    return int(match.group(1))


@pytest.fixture(scope="module")
def a2f_daemon():
    d = Daemon("--a2f-compat", "--a2f-port", "0")
    d.a2f_port = a2f_port(d)
    yield d
    d.stop()


def converse(python: Path, daemon: Daemon, messages: list[dict], half_close: bool = True,
             token: str | None = None) -> dict:
    """Play ``messages`` with NVIDIA's client; the conversation as the client saw it."""
    scenario = json.dumps({"messages": messages, "half_close": half_close, "token": token})
    done = subprocess.run([str(python), str(CLIENT), "run", f"127.0.0.1:{daemon.a2f_port}"], input=scenario,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def parts(conversation: dict, kind: str) -> list:
    return [r[kind] for r in conversation["responses"] if kind in r]


def frames(conversation: dict) -> list[tuple[float, list[float]]]:
    return [tuple(w) for data in parts(conversation, "animation_data") for w in data["weights"]]


def speech(seconds: float, chunk: float = 1.0, emotions: list[dict] | None = None, wav: str = SPEECH) -> list[dict]:
    starts = np.arange(0, seconds, chunk)
    chunks = [{"audio": {"wav": wav, "start": float(s), "end": float(min(s + chunk, seconds))}} for s in starts]
    chunks[0]["audio"]["emotions"] = emotions or []
    return chunks


def test_messages_and_services_match_nvidias_protos(a2f_python):
    done = subprocess.run([str(a2f_python), str(CLIENT), "describe"], capture_output=True, text=True, check=True)
    nvidia = json.loads(done.stdout)
    assert nvidia["services"] == {SERVICE_NAME: {"ProcessAudioStream": [
        "com.nvidia.ace.services.audio2face_3d.v1.AudioWithEmotionStream",
        "com.nvidia.ace.services.audio2face_3d.v1.A2F3DAnimationDataStream", True, True]}}
    ours = proto_shape.describe((audio_pb2, animation_pb2, status_pb2, messages_pb2, audio2face_pb2))
    assert ours == nvidia


def test_whole_conversation(a2f_python, a2f_daemon):
    import time

    seconds = 3.0
    before = time.time()
    talk = converse(a2f_python, a2f_daemon, [
        {"header": {"samples_per_second": 16000, "beginning_emotion": {"sadness": 0.5}}},
        *speech(seconds, emotions=[{"time_code": 1.5, "emotion": {"joy": 1.0, "fear": 0.2}}]),
        {"end": {}}], half_close=False)  # NVIDIA's sample client never half-closes
    assert talk["code"] == "OK", talk["details"]
    responses = talk["responses"]
    header = responses[0]["header"]
    assert header["blend_shapes"] == list(BLENDSHAPES) and header["blend_shapes"][:2] == ["EyeBlinkLeft",
                                                                                         "EyeLookDownLeft"]
    assert (header["samples_per_second"], header["channel_count"], header["bits_per_sample"]) == (16000, 1, 16)
    assert before - 1 <= header["start_time_code_since_epoch"] <= time.time()

    animation = frames(talk)
    assert len(animation) == math.ceil(seconds * 30)
    times = np.array([t for t, _ in animation])
    np.testing.assert_allclose(times, np.arange(len(times)) / 30, atol=1e-6)
    assert all(len(values) == 52 for _, values in animation)
    assert max(values[BLENDSHAPES.index("JawOpen")] for _, values in animation) > 0.1, "the jaw never moved"

    audio = [d["audio"] for d in parts(talk, "animation_data") if "audio" in d]
    echoed = b"".join(bytes.fromhex(chunk) for _, chunk in audio)
    assert hashlib.sha256(echoed).hexdigest() == talk["sent_sha256"]
    audio_times = [t for t, _ in audio]
    assert audio_times == sorted(audio_times) and audio_times[0] == 0.0

    aggregates = [(d["weights"][0][0], d["emotion_aggregate"]) for d in parts(talk, "animation_data")
                  if "emotion_aggregate" in d]
    assert [round(t, 3) for t, _ in aggregates] == [0.0, 1.5]
    assert aggregates[0][1]["input_emotions"] == [[0.0, {"sadness": 0.5}]]
    # The name NVIDIA's GitHub protos and sample apps use (the PyPI wheel renamed the package; same bytes).
    assert {d["emotion_aggregate_type"] for d in parts(talk, "animation_data") if "emotion_aggregate" in d} == {
        "type.googleapis.com/nvidia_ace.emotion_aggregate.v1.EmotionAggregate"}
    assert aggregates[1][1]["input_emotions"][0][1] == pytest.approx({"joy": 1.0, "fear": 0.2})
    applied = aggregates[1][1]["a2f_smoothed_output"][0][1]
    assert applied["joy"] == pytest.approx(0.6) and applied["fear"] == 0.0  # joy wins, x emotion_strength 0.6

    assert "event" in responses[-2] and responses[-2]["event"] == "END_OF_A2F_AUDIO_PROCESSING"
    assert responses[-1]["status"][0] == "SUCCESS"
    assert not parts(talk, "status")[:-1], "no warnings were expected"


def test_44k_audio_at_60_fps(a2f_python, a2f_daemon, tmp_path):
    samples, rate = sf.read(SPEECH, dtype="float32")
    import soxr

    wav = tmp_path / "speech_44k.wav"
    sf.write(wav, soxr.resample(samples[:2 * rate], rate, 44100), 44100, subtype="PCM_16")
    talk = converse(a2f_python, a2f_daemon, [
        {"header": {"samples_per_second": 44100, "integer_params": {"fps": 60}}},
        *speech(2.0, chunk=0.25, wav=str(wav)), {"end": {}}])
    assert talk["code"] == "OK", talk["details"]
    assert talk["responses"][0]["header"]["samples_per_second"] == 44100
    times = np.array([t for t, _ in frames(talk)])
    assert len(times) == 120
    np.testing.assert_allclose(np.diff(times), 1 / 60, atol=1e-6)
    echoed = b"".join(bytes.fromhex(d["audio"][1]) for d in parts(talk, "animation_data") if "audio" in d)
    assert hashlib.sha256(echoed).hexdigest() == talk["sent_sha256"]


def test_multipliers_offsets_clamping_and_face_strength(a2f_python, a2f_daemon):
    jaw, blink, smile = (BLENDSHAPES.index(n) for n in ("JawOpen", "EyeBlinkLeft", "MouthSmileLeft"))

    def run(**header) -> np.ndarray:
        talk = converse(a2f_python, a2f_daemon, [{"header": header}, *speech(2.0), {"end": {}}])
        assert talk["code"] == "OK", talk["details"]
        return np.array([values for _, values in frames(talk)])

    plain = run()
    scaled = run(multipliers={"JawOpen": 2.0, "TongueTipUp": 1.0}, offsets={"MouthSmileLeft": 0.25})
    np.testing.assert_allclose(scaled[:, jaw], 2 * plain[:, jaw], atol=1e-6)
    np.testing.assert_allclose(scaled[:, smile], plain[:, smile] + 0.25, atol=1e-6)
    clamped = run(multipliers={"JawOpen": 3.0}, offsets={"EyeBlinkLeft": 2.0}, clamp=True)
    assert clamped.max() <= 1.0 and clamped.min() >= 0.0 and np.all(clamped[:, blink] == 1.0)
    np.testing.assert_allclose(clamped[:, jaw], np.clip(3 * plain[:, jaw], 0, 1), atol=1e-6)
    softer = run(face_params={"lowerFaceStrength": 0.5, "blinkStrength": 0.0})
    np.testing.assert_allclose(softer[:, jaw], 0.5 * plain[:, jaw], atol=1e-6)
    assert np.all(softer[:, blink] == 0.0)


def test_unsupported_parameters_warn_and_still_succeed(a2f_python, a2f_daemon):
    talk = converse(a2f_python, a2f_daemon, [
        {"header": {"face_params": {"faceMaskLevel": 0.3, "faceMaskSoftness": 0.0085},
                    "post": {"emotion_contrast": 2.0}, "multipliers": {"TongueTipUp": 0.5}}},
        *speech(1.0), {"end": {}}])
    assert talk["code"] == "OK", talk["details"]
    statuses = parts(talk, "status")
    warnings = " ".join(message for code, message in statuses if code == "WARNING")
    assert "faceMaskLevel=0.3" in warnings and "faceMaskSoftness" not in warnings  # the default is no news
    assert "emotion_contrast=2" in warnings and "TongueTipUp" in warnings
    assert "header" in talk["responses"][0] and statuses[-1][0] == "SUCCESS"


HEADER = {"header": {"samples_per_second": 16000}}
BAD_CASES = {
    "header missing": ([*speech(1.0), {"end": {}}], "first message must be an audio_stream_header"),
    "nothing sent": ([], "first message must be an audio_stream_header, not nothing"),
    "stereo": ([{"header": {"channel_count": 2}}, *speech(1.0), {"end": {}}], "only mono audio"),
    "24-bit": ([{"header": {"bits_per_sample": 24}}, *speech(1.0), {"end": {}}], "only 16-bit PCM"),
    "8 kHz": ([{"header": {"samples_per_second": 8000}}, *speech(1.0), {"end": {}}], "samples_per_second must be"),
    "chunk after end": ([HEADER, *speech(1.0), {"end": {}}, *speech(0.5)], "audio_with_emotion received after end"),
    "second header": ([HEADER, *speech(0.5), HEADER], "send the audio_stream_header once, first"),
    "unknown emotion": ([HEADER, *speech(1.0, emotions=[{"time_code": 0.0, "emotion": {"happiness": 1.0}}]),
                         {"end": {}}], "unknown emotion 'happiness'"),
    "emotion out of range": ([HEADER, *speech(1.0, emotions=[{"time_code": 0.0, "emotion": {"joy": 1.5}}])],
                             "must be in [0, 1]"),
    "unknown beginning emotion": ([{"header": {"beginning_emotion": {"calmness": 1.0}}}], "unknown emotion"),
    "odd byte count": ([HEADER, {"raw_audio": {"bytes": 3}}], "even number of bytes"),
    "chunk over 10 s": ([HEADER, {"raw_audio": {"bytes": 2 * 16000 * 11}}], "at most 10 s"),
    "no audio": ([HEADER, {"end": {}}], "no audio was sent"),
    "unknown face parameter": ([{"header": {"face_params": {"mouthStrength": 1.0}}}], "unknown face parameter"),
    "unknown blendshape": ([{"header": {"multipliers": {"jawOpen": 1.0}}}], "unknown blendshape 'jawOpen'"),
    "bad fps": ([{"header": {"integer_params": {"fps": 50}}}], "fps must be one of"),
}


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_requests_get_invalid_argument(a2f_python, a2f_daemon, case):
    messages, expected = BAD_CASES[case]
    talk = converse(a2f_python, a2f_daemon, messages)
    assert talk["code"] == "INVALID_ARGUMENT", talk
    assert expected in talk["details"]
    assert a2f_daemon.alive()


def test_both_services_report_health(a2f_daemon):
    for port, service in ((a2f_daemon.a2f_port, SERVICE_NAME), (a2f_daemon.port, "facecast.v1.Facecast")):
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            check = health_pb2_grpc.HealthStub(channel).Check
            for name in ("", service):
                reply = check(health_pb2.HealthCheckRequest(service=name), timeout=10)
                assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_token_guards_the_a2f_port_too(a2f_python):
    guarded = Daemon("--a2f-compat", "--a2f-port", "0", "--token", "s3cret")
    try:
        guarded.a2f_port = a2f_port(guarded)
        conversation = [{"header": {}}, *speech(0.5), {"end": {}}]
        # Only the header: the refusal comes before any message is read, and a grpcio client still writing
        # when a call ends reports INTERNAL instead of the server's status.
        refused = converse(a2f_python, guarded, conversation[:1], token="wrong", half_close=False)
        assert refused["code"] == "UNAUTHENTICATED" and not refused["responses"]
        assert converse(a2f_python, guarded, conversation, token="s3cret")["code"] == "OK"
    finally:
        guarded.stop()


def test_a2f_port_is_off_by_default(daemon):
    assert "a2f-compat" not in daemon.ready_line


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
