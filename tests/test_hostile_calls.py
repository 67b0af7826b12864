"""Attacks through the calls themselves on a real daemon on 127.0.0.1 (issue 14, defect 8): bytes that are no
protobuf, invalid UTF-8, unauthenticated 60 MiB calls (refused before they are read), a client cycling texture
sizes (the renderer cache stays bounded and DeleteAvatar frees it), and an Audio2Face-3D client flooding timed
emotions."""

from __future__ import annotations

import asyncio
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
import numpy as np
import pytest

from facecast.proto import facecast_pb2 as pb
from facecast.proto import facecast_pb2_grpc
from facecast.proto.a2f.nvidia_ace import audio_pb2
from facecast.proto.a2f.nvidia_audio2face_3d import audio2face_pb2_grpc
from facecast.proto.a2f.nvidia_audio2face_3d import messages_pb2 as a2f
from facecast.server.app import start_server
from facecast.server.config import ServerConfig

from conftest import ASSETS
from daemon import Daemon
from helpers.hostile import peak_rss_growth_mb

ALLOWED = {grpc.StatusCode.INVALID_ARGUMENT}


@pytest.fixture(scope="module")
def a2f_daemon():
    daemon = Daemon("--a2f-compat", "--a2f-port", "0")
    daemon.a2f_address = "127.0.0.1:" + re.search(r"\(a2f-compat on \S+:(\d+)\)", daemon.ready_line).group(1)
    yield daemon
    daemon.stop()


def string_field(message_type, name: str, value: bytes) -> bytes:
    """The wire bytes of one length-delimited field ``name`` of ``message_type`` holding ``value`` as is."""
    number = message_type.DESCRIPTOR.fields_by_name[name].number
    length, out = len(value), bytearray()
    while True:
        out.append((length & 0x7F) | (0x80 if length > 0x7F else 0))
        length >>= 7
        if not length:
            break
    return bytes([(number << 3) | 2]) + bytes(out) + value


MALFORMED = {
    "truncated varint": b"\x08\xff\xff\xff",
    "wrong wire type": b"\x0f\x00",
    "length past the end": b"\x0a\xff\x01abc",
    "group that never ends": b"\x0b",
}
UNARY = {"GetInfo": pb.GetInfoRequest, "CreateAvatar": pb.CreateAvatarRequest,
         "DeleteAvatar": pb.DeleteAvatarRequest}


def expect_invalid(call) -> str:
    with pytest.raises(grpc.RpcError) as raised:
        result = call()
        if not isinstance(result, bytes):
            list(result)
    assert raised.value.code() in ALLOWED, (raised.value.code(), raised.value.details())
    return raised.value.details()


@pytest.mark.parametrize("payload", MALFORMED)
def test_bytes_that_are_no_protobuf_get_invalid_argument(a2f_daemon, payload):
    data = MALFORMED[payload]
    with grpc.insecure_channel(a2f_daemon.address) as channel:
        for method in ("GetInfo", "CreateAvatar", "DeleteAvatar"):
            call = channel.unary_unary(f"/facecast.v1.Facecast/{method}")
            assert "not a valid protobuf" in expect_invalid(lambda call=call: call(data, timeout=20))
        animate = channel.unary_stream("/facecast.v1.Facecast/Animate")
        assert "not a valid protobuf" in expect_invalid(lambda: animate(data, timeout=20))
        stream = channel.stream_stream("/facecast.v1.Facecast/Stream")
        first = pb.StreamRequest(config=pb.StreamConfig(sample_rate=16_000)).SerializeToString()
        expect_invalid(lambda: stream(iter([data]), timeout=20))
        expect_invalid(lambda: stream(iter([first, data]), timeout=20))  # mid-stream
    with grpc.insecure_channel(a2f_daemon.a2f_address) as channel:
        process = channel.stream_stream("/nvidia_ace.services.a2f_controller.v1.A2FControllerService/"
                                        "ProcessAudioStream")
        expect_invalid(lambda: process(iter([data]), timeout=20))
    assert a2f_daemon.alive()


@pytest.mark.parametrize("message_type, field", [(pb.AnimateRequest, "animator"), (pb.AnimateRequest, "language"),
                                                 (pb.DeleteAvatarRequest, "avatar_id")])
def test_invalid_utf8_in_a_string_field_gets_invalid_argument(a2f_daemon, message_type, field):
    data = string_field(message_type, field, b"\xff\xfe\xc0\x80 not utf-8")
    method = {pb.AnimateRequest: "Animate", pb.DeleteAvatarRequest: "DeleteAvatar"}[message_type]
    with grpc.insecure_channel(a2f_daemon.address) as channel:
        kind = channel.unary_stream if method == "Animate" else channel.unary_unary
        call = kind(f"/facecast.v1.Facecast/{method}")
        assert "not a valid protobuf" in expect_invalid(lambda: call(data, timeout=20))
    assert a2f_daemon.alive()


@pytest.mark.slow
def test_unauthenticated_large_calls_are_refused_before_they_are_read(tmp_path):
    (tmp_path / "token").write_text("s3cret\n")
    daemon = Daemon("--token-file", str(tmp_path / "token"))
    big = pb.CreateAvatarRequest(image=bytes(60 * 2**20)).SerializeToString()
    try:
        def flood() -> list[grpc.StatusCode]:
            def one(_: int) -> grpc.StatusCode:
                with grpc.insecure_channel(daemon.address, options=[("grpc.max_send_message_length", 2**27)]) as ch:
                    try:
                        ch.unary_unary("/facecast.v1.Facecast/CreateAvatar")(big, timeout=60)
                    except grpc.RpcError as e:
                        return e.code()
                return grpc.StatusCode.OK

            with ThreadPoolExecutor(8) as pool:
                return list(pool.map(one, range(8)))

        grown, codes = peak_rss_growth_mb(daemon.process.pid, flood)
        assert codes == [grpc.StatusCode.UNAUTHENTICATED] * 8, codes
        assert grown < 120, grown  # 8 x 60 MiB read in full cost +952 MB
        assert daemon.alive()
    finally:
        daemon.stop()


class InProcessDaemon:
    """The daemon's server on 127.0.0.1 in a thread of this process, so a test can look at its caches."""

    def __init__(self, config: ServerConfig) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.running = asyncio.run_coroutine_threadsafe(start_server(config), self.loop).result(30)
        self.address = f"127.0.0.1:{self.running.port}"

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self.running.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.mark.slow
def test_renderer_cache_is_bounded_and_freed_by_delete_avatar():
    server = InProcessDaemon(ServerConfig(port=0))
    try:
        store = server.running.state.avatars
        store.max_renderers = 3  # building renderers is what takes the time
        with grpc.insecure_channel(server.address) as channel:
            stub = facecast_pb2_grpc.FacecastStub(channel)
            avatar = stub.CreateAvatar(pb.CreateAvatarRequest(image=(ASSETS / "mona_lisa.jpg").read_bytes()),
                                       timeout=60).avatar_id
            pcm = pb.Pcm(data=(np.sin(np.arange(800) / 5) * 8000).astype("<i2").tobytes(), format=pb.PCM16,
                         sample_rate=16_000)
            for size in range(128, 128 + 8 * (store.max_renderers + 2), 8):  # more sizes than the cache holds
                texture = pb.TextureOptions(avatar_id=avatar, encoding=pb.JPEG, size=size)
                list(stub.Animate(pb.AnimateRequest(audio=pb.AudioInput(pcm=pcm), animator="energy",
                                                    texture=texture), timeout=60))
                assert store.renderers <= store.max_renderers
            assert store.renderers == store.max_renderers
            stub.DeleteAvatar(pb.DeleteAvatarRequest(avatar_id=avatar), timeout=10)
            assert store.renderers == 0
    finally:
        server.close()


def test_a2f_timed_emotions_are_bounded(a2f_daemon):
    header = a2f.AudioWithEmotionStream(audio_stream_header=a2f.AudioWithEmotionStreamHeader(
        audio_header=audio_pb2.AudioHeader(channel_count=1, samples_per_second=16_000, bits_per_sample=16)))
    emotions = [a2f.EmotionWithTimeCode(time_code=1000.0 - i * 0.01, emotion={"joy": 0.5}) for i in range(600)]
    chunk = a2f.AudioWithEmotionStream(audio_with_emotion=a2f.AudioWithEmotion(
        audio_buffer=(np.sin(np.arange(1600) / 5) * 8000).astype("<i2").tobytes(), emotions=emotions))
    with grpc.insecure_channel(a2f_daemon.a2f_address) as channel:
        stub = audio2face_pb2_grpc.A2FControllerServiceStub(channel)
        with pytest.raises(grpc.RpcError) as raised:
            list(stub.ProcessAudioStream(iter([header, chunk, chunk]), timeout=30))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "at most 1000 timed emotions" in raised.value.details()
    assert a2f_daemon.alive()
