"""The daemon driven through real gRPC channels on 127.0.0.1: the happy paths and every kind of bad input."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
import time

import av
import grpc
import numpy as np
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

import facecast
from facecast.audio import load_audio
from facecast.client import Client, ServerError, stream_file_chunks
from facecast.motion import CHANNELS
from facecast.proto import facecast_pb2 as pb
from facecast.proto import facecast_pb2_grpc

from conftest import ASSETS, speech_file
from daemon import Daemon


@pytest.fixture
def stub(daemon):
    with grpc.insecure_channel(daemon.address) as channel:
        yield facecast_pb2_grpc.FacecastStub(channel)


def assert_still_serving(daemon) -> None:
    assert daemon.alive()
    with Client(daemon.address, timeout=10) as client:
        assert client.info()["version"] == facecast.__version__


def expect_status(call, code: grpc.StatusCode, message: str) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        list(call())
    assert raised.value.code() == code, raised.value.details()
    assert message in raised.value.details()


def test_info_health_and_reflection(daemon):
    with Client(daemon.address, timeout=10) as client:
        info = client.info()
        assert client.health() == "SERVING"
        assert client.health("facecast.v1.Facecast") == "SERVING"
    assert "energy" in [a["name"] for a in info["animators"]]
    assert info["fps_options"] == [24, 25, 30, 60]
    assert "CPUExecutionProvider" in info["providers"]
    assert info["channel_names"] == list(CHANNELS)
    with grpc.insecure_channel(daemon.address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        replies = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        services = {s.name for s in next(replies).list_services_response.service}
    assert {"facecast.v1.Facecast", "grpc.health.v1.Health"} <= services


def test_animate_real_clip_equals_local_animation(daemon):
    path = speech_file()
    with Client(daemon.address, timeout=60) as client:
        responses = list(client.animate_responses(path, fps=30, seed=7, echo_audio=True))
        clip = client.animate(path, fps=30, seed=7)
    kinds = [r.WhichOneof("kind") for r in responses]
    assert kinds[0] == "header" and kinds[-1] == "status" and "audio" in kinds
    assert list(responses[0].header.channel_names) == list(CHANNELS)
    assert responses[-1].status.frames == clip.num_frames == responses[0].header.total_frames
    local = facecast.animate(path, fps=30, seed=7)
    np.testing.assert_allclose(clip.values, local.values, atol=1e-6)


def test_stream_real_time_20ms_chunks(daemon):
    audio = load_audio(speech_file())
    samples = audio.samples[: 3 * 16_000]  # three seconds, paced as a microphone would deliver them
    with Client(daemon.address, timeout=60) as client:
        live = client.stream(sample_rate=16_000, fps=30, seed=3)
        start = time.monotonic()
        for i, chunk in enumerate(stream_file_chunks(samples, 16_000, 20)):
            time.sleep(max(0.0, start + i * 0.02 - time.monotonic()))
            live.send(chunk)
        live.end()
        responses = list(live.responses())
    kinds = [r.WhichOneof("kind") for r in responses]
    assert kinds[0] == "header" and kinds[-1] == "status"
    frames = [f for r in responses if r.WhichOneof("kind") == "frames" for f in r.frames.frames]
    assert [f.index for f in frames] == list(range(90))
    assert all(len(f.values) == 61 for f in frames)
    times = np.array([f.time_code for f in frames])
    np.testing.assert_allclose(np.diff(times), 1 / 30, atol=1e-9)


def test_stream_controls_update_mid_utterance(daemon):
    audio = load_audio(speech_file())
    with Client(daemon.address, timeout=60) as client, client.stream(sample_rate=16_000) as live:
        chunks = list(stream_file_chunks(audio.samples[:32_000], 16_000, 100))
        for chunk in chunks[:10]:
            live.send(chunk)
        live.update(emotion="happy", emotion_intensity=1.0)
        for chunk in chunks[10:]:
            live.send(chunk)
        live.end()
        frames = list(live.frames())
    smile = np.array([f.values[CHANNELS.index("MouthSmileLeft")] for f in frames])
    assert smile[-10:].mean() > smile[:10].mean() + 0.3


def mp4_without_audio() -> bytes:
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i in range(10):
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.full((64, 64, 3), i * 20, np.uint8))):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


BAD_ANIMATE_REQUESTS = {
    "empty audio": (pb.AnimateRequest(), "no audio"),
    "garbage bytes": (pb.AnimateRequest(audio=pb.AudioInput(encoded=b"\x13\x37" * 5000)), "not an audio file"),
    "mp4 with no audio": (pb.AnimateRequest(audio=pb.AudioInput(encoded=mp4_without_audio())), "no audio stream"),
    "ten minutes of silence": (pb.AnimateRequest(audio=pb.AudioInput(pcm=pb.Pcm(
        data=bytes(2 * 16_000 * 600), format=pb.PCM16, sample_rate=16_000))), "silent"),
    "NaN PCM": (pb.AnimateRequest(audio=pb.AudioInput(pcm=pb.Pcm(
        data=np.full(1600, np.nan, "<f4").tobytes(), format=pb.FLOAT32, sample_rate=16_000))), "NaN"),
    "wrong sample rate": (pb.AnimateRequest(audio=pb.AudioInput(pcm=pb.Pcm(
        data=bytes(3200), format=pb.PCM16, sample_rate=8_000))), "8000 Hz is not supported"),
    "unknown emotion": (pb.AnimateRequest(audio=pb.AudioInput(encoded=(ASSETS / "speech_en.wav").read_bytes()),
                                          controls=pb.Controls(emotion="grumpy")), "unknown emotion 'grumpy'"),
    "unknown animator": (pb.AnimateRequest(audio=pb.AudioInput(encoded=b"x"), animator="magic"),
                         "unknown animator 'magic'"),
    "bad fps": (pb.AnimateRequest(audio=pb.AudioInput(encoded=b"x"), fps=29), "fps must be one of"),
}


@pytest.mark.parametrize("case", BAD_ANIMATE_REQUESTS)
def test_bad_animate_requests_get_invalid_argument(daemon, stub, case):
    request, message = BAD_ANIMATE_REQUESTS[case]
    expect_status(lambda: stub.Animate(request, timeout=60), grpc.StatusCode.INVALID_ARGUMENT, message)
    assert_still_serving(daemon)


def stream_requests(*messages):
    yield from messages


BAD_STREAMS = {
    "no config first": ([pb.StreamRequest(pcm=bytes(640))], "first Stream message must be a config"),
    "config twice": ([pb.StreamRequest(config=pb.StreamConfig(sample_rate=16_000)),
                      pb.StreamRequest(config=pb.StreamConfig(sample_rate=16_000))], "config may be sent only once"),
    "NaN PCM": ([pb.StreamRequest(config=pb.StreamConfig(sample_rate=16_000, format=pb.FLOAT32)),
                 pb.StreamRequest(pcm=np.full(320, np.nan, "<f4").tobytes())], "NaN"),
    "wrong sample rate": ([pb.StreamRequest(config=pb.StreamConfig(sample_rate=11_025))], "11025 Hz"),
    "odd PCM16 bytes": ([pb.StreamRequest(config=pb.StreamConfig(sample_rate=16_000)),
                         pb.StreamRequest(pcm=b"\x00\x01\x02")], "even number of bytes"),
    "unknown emotion update": ([pb.StreamRequest(config=pb.StreamConfig(sample_rate=16_000)),
                                pb.StreamRequest(controls=pb.Controls(emotion="grumpy"))], "unknown emotion"),
}


@pytest.mark.parametrize("case", BAD_STREAMS)
def test_bad_streams_get_invalid_argument(daemon, stub, case):
    messages, message = BAD_STREAMS[case]
    expect_status(lambda: stub.Stream(stream_requests(*messages), timeout=30), grpc.StatusCode.INVALID_ARGUMENT,
                  message)
    assert_still_serving(daemon)


def test_oversized_message_is_refused():
    daemon = Daemon("--max-message-mb", "1")
    try:
        with grpc.insecure_channel(daemon.address) as channel:
            stub = facecast_pb2_grpc.FacecastStub(channel)
            big = pb.AnimateRequest(audio=pb.AudioInput(encoded=bytes(2 * 2**20)))
            expect_status(lambda: stub.Animate(big, timeout=30), grpc.StatusCode.RESOURCE_EXHAUSTED, "")
        assert_still_serving(daemon)
    finally:
        daemon.stop()


CLIENT_THAT_VANISHES = textwrap.dedent("""
    import sys, time
    from facecast.client import Client
    client = Client(sys.argv[1])
    live = client.stream(sample_rate=16000)
    for _ in range(100000):
        live.send(bytes(640))
        time.sleep(0.02)
        if _ == 10:
            print("streaming", flush=True)
""")


def test_client_that_vanishes_mid_stream_frees_its_session(daemon):
    process = subprocess.Popen([sys.executable, "-c", CLIENT_THAT_VANISHES, daemon.address], stdout=subprocess.PIPE,
                               text=True)
    try:
        assert process.stdout.readline().strip() == "streaming"
        with Client(daemon.address, timeout=10) as client:
            assert client.info()["active_sessions"] >= 1
            process.kill()
            process.wait(10)
            deadline = time.monotonic() + 20
            while client.info()["active_sessions"] and time.monotonic() < deadline:
                time.sleep(0.1)
            assert client.info()["active_sessions"] == 0
    finally:
        process.kill()
    assert_still_serving(daemon)


def test_bearer_token():
    daemon = Daemon("--token", "s3cret")
    try:
        with Client(daemon.address, timeout=10) as anonymous:
            assert anonymous.health() == "SERVING"  # load balancers probe without credentials
            with pytest.raises(ServerError, match="UNAUTHENTICATED"):
                anonymous.info()
            with pytest.raises(ServerError, match="UNAUTHENTICATED"):
                anonymous.animate(ASSETS / "speech_en.wav")
        with Client(daemon.address, token="wrong", timeout=10) as wrong, pytest.raises(ServerError, match="token"):
            wrong.info()
        with Client(daemon.address, token="s3cret", timeout=30) as client:
            assert client.animate(ASSETS / "speech_en.wav").num_frames == 240
    finally:
        daemon.stop()


def test_session_limit_and_graceful_sigterm():
    daemon = Daemon("--max-sessions", "1")
    try:
        with Client(daemon.address, timeout=30) as client:
            live = client.stream(sample_rate=16_000)
            live.send(bytes(640))
            responses = live.responses()
            assert next(responses).WhichOneof("kind") == "header"
            with pytest.raises(ServerError, match="RESOURCE_EXHAUSTED"):
                client.animate(ASSETS / "speech_en.wav")
            live.end()
            assert list(responses)[-1].WhichOneof("kind") == "status"
            assert client.animate(ASSETS / "speech_en.wav").num_frames == 240
    finally:
        assert daemon.stop() == 0
    assert any("shutting down" in line for line in daemon.stderr)


def test_no_daemon_gives_a_clear_error():
    with Client("127.0.0.1:9", timeout=5) as client, pytest.raises(ServerError, match="no facecast daemon at"):
        client.info()
