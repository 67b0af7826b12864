"""Attacks through request contents on a real daemon on 127.0.0.1 (issue 14, defects 1, 2, 3 and 8): paths in
the language, playlists that name files, decoders outside the allow-list, decompression bombs (with the peak
memory the daemon spent on each), NaN in an encoded WAV, bad .fcavatar files and out-of-range fields. Each one
must end in INVALID_ARGUMENT with a message that names the problem, and the daemon must keep serving."""

from __future__ import annotations

import io

import grpc
import numpy as np
import pytest
from PIL import Image

import facecast
from facecast.client import Client
from facecast.proto import facecast_pb2 as pb
from facecast.proto import facecast_pb2_grpc

from conftest import ASSETS
from daemon import Daemon
from helpers.hostile import EPS, fcavatar, ffconcat, flac_bomb, float_wav, hls, peak_rss_growth_mb, png_bomb

SPEECH = (ASSETS / "speech_en.wav").read_bytes()


@pytest.fixture(scope="module")
def hostile_daemon():
    daemon = Daemon()
    yield daemon
    daemon.stop()


@pytest.fixture(scope="module")
def png_14000() -> bytes:
    return png_bomb(14_000, 14_000, channels=1)  # 0.2 MB that decode to 196 MB (588 MB as RGB)


@pytest.fixture
def stub(hostile_daemon):
    with grpc.insecure_channel(hostile_daemon.address, options=[("grpc.max_send_message_length", 2**26)]) as ch:
        yield facecast_pb2_grpc.FacecastStub(ch)


def refused(call) -> grpc.RpcError:
    """The error a call ends in; the daemon is checked to be still serving."""
    with pytest.raises(grpc.RpcError) as raised:
        result = call()
        if not isinstance(result, pb.CreateAvatarResponse | pb.Info):
            list(result)
    return raised.value


def assert_invalid(daemon, call, *fragments: str) -> str:
    error = refused(call)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (error.code(), error.details())
    for fragment in fragments:
        assert fragment in error.details(), error.details()
    assert daemon.alive()
    with Client(daemon.address, timeout=10) as client:
        assert client.info()["version"] == facecast.__version__
    return error.details()


def animate(stub, audio: bytes, **fields):
    return lambda: stub.Animate(pb.AnimateRequest(audio=pb.AudioInput(encoded=audio), **fields), timeout=60)


# --- defect 1: the language is looked up in a fixed list -----------------------------------------------------


@pytest.mark.parametrize("language", ["../../../../etc/hostname", "/etc/passwd", "../../../../no/such/file",
                                      "en-us+../../x", "en\x00", "de" * 5000])
def test_language_that_names_a_path_is_refused_before_espeak(hostile_daemon, stub, language):
    message = assert_invalid(hostile_daemon, animate(stub, SPEECH, animator="phonetic", text="hello world",
                                                     language=language), "unknown language")
    assert len(message) < 300  # an existing and a missing path read the same, and nothing long is echoed
    config = pb.StreamConfig(sample_rate=16_000, animator="phonetic", text="hello", language=language)
    assert_invalid(hostile_daemon, lambda: stub.Stream(iter([pb.StreamRequest(config=config)]), timeout=30),
                   "unknown language")


def test_listed_languages_still_work(hostile_daemon, stub):
    responses = list(stub.Animate(pb.AnimateRequest(audio=pb.AudioInput(encoded=SPEECH), animator="phonetic",
                                                    text="hello", language="en_US"), timeout=120))
    assert responses[-1].status.code == pb.Status.OK


# --- defect 2: only listed containers, from memory, no protocols ---------------------------------------------


@pytest.mark.parametrize("payload", [ffconcat("assets/speech_en.wav"), ffconcat(str(ASSETS / "speech_en.wav")),
                                     hls(str(ASSETS / "speech_en.wav")), b"concat:assets/speech_en.wav",
                                     b"file:assets/speech_en.wav"], ids=["ffconcat", "ffconcat-abs", "hls",
                                                                          "concat-url", "file-url"])
def test_playlists_never_open_the_daemons_files(hostile_daemon, stub, payload):
    assert_invalid(hostile_daemon, animate(stub, payload, echo_audio=True, animator="energy"), "not an audio file")


def image_bytes(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.open(ASSETS / "mona_lisa.jpg").convert("RGB").save(buf, fmt)
    return buf.getvalue()


@pytest.mark.parametrize("payload", [EPS, ffconcat("assets/mona_lisa.jpg"), image_bytes("GIF"), image_bytes("BMP"),
                                     image_bytes("TIFF")], ids=["eps", "ffconcat", "gif", "bmp", "tiff"])
def test_image_decoders_outside_png_jpeg_webp_never_run(hostile_daemon, stub, payload):
    assert_invalid(hostile_daemon, lambda: stub.CreateAvatar(pb.CreateAvatarRequest(image=payload), timeout=60),
                   "not a readable image", "PNG, JPEG and WebP")


def test_webp_portraits_are_read(hostile_daemon, stub):
    response = stub.CreateAvatar(pb.CreateAvatarRequest(image=image_bytes("WEBP")), timeout=60)
    assert response.avatar_id and len(response.landmarks) == 468 * 3


# --- defect 3: decompression bombs cost little -----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("hide_length", [False, True], ids=["honest-header", "hidden-length"])
def test_flac_bomb_is_refused_without_decoding_it_all(hostile_daemon, stub, hide_length):
    bomb = flac_bomb(3600, 16_000, hide_length=hide_length)  # one hour: 0.2 MB that decode to 230 MB
    assert len(bomb) < 500_000
    grown, error = peak_rss_growth_mb(hostile_daemon.process.pid, lambda: list(animate(stub, bomb)()))
    assert isinstance(error, grpc.RpcError) and error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "the limit is 600 s" in error.details()
    # honest header: refused before decoding; hidden length: decoding stops at 600 s (37 MB of samples)
    assert grown < (30 if not hide_length else 150), grown


@pytest.mark.slow
@pytest.mark.parametrize("with_box", [False, True], ids=["detect", "face-box"])
def test_png_bomb_is_refused_before_decoding(hostile_daemon, stub, png_14000, with_box):
    bomb = png_14000
    box = pb.FaceBox(x=100, y=100, width=400, height=400) if with_box else None
    grown, error = peak_rss_growth_mb(hostile_daemon.process.pid, lambda: stub.CreateAvatar(
        pb.CreateAvatarRequest(image=bomb, face_box=box), timeout=60))
    assert isinstance(error, grpc.RpcError) and error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "pixels; the limit is" in error.details() and "megapixels" in error.details()
    assert grown < 50, grown


@pytest.mark.slow
@pytest.mark.parametrize("recorded", [(14_000, 14_000), (512, 512)], ids=["recorded-huge", "recorded-small"])
def test_fcavatar_goes_through_the_image_limits(hostile_daemon, stub, png_14000, recorded):
    bomb = fcavatar(png_14000, recorded)
    grown, error = peak_rss_growth_mb(hostile_daemon.process.pid, lambda: stub.CreateAvatar(
        pb.CreateAvatarRequest(avatar=bomb), timeout=60))
    assert isinstance(error, grpc.RpcError) and error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
    assert "pixels" in error.details()
    assert grown < 50, grown


@pytest.mark.parametrize("width, height", [(5000, 4000), (20_000, 1000)])
def test_png_over_the_whole_decode_limit_names_its_size(hostile_daemon, stub, width, height):
    assert_invalid(hostile_daemon, lambda: stub.CreateAvatar(pb.CreateAvatarRequest(
        image=png_bomb(width, height, channels=1)), timeout=60),
        f"{width}x{height} pixels; the limit is 16.8 megapixels for PNG and WebP")


@pytest.mark.parametrize("count", [-1, -2**31, 301, 2**31 - 1])
def test_frames_per_message_is_bounded(hostile_daemon, stub, count):
    assert_invalid(hostile_daemon, animate(stub, SPEECH, animator="energy", frames_per_message=count),
                   "frames_per_message must be in 1..300")


@pytest.mark.slow
def test_frames_per_message_with_large_textures_is_bounded_by_bytes(hostile_daemon, stub):
    avatar = stub.CreateAvatar(pb.CreateAvatarRequest(image=(ASSETS / "mona_lisa.jpg").read_bytes()), timeout=60)
    texture = pb.TextureOptions(avatar_id=avatar.avatar_id, encoding=pb.RGBA, size=1024)
    assert_invalid(hostile_daemon, animate(stub, SPEECH, animator="energy", texture=texture, frames_per_message=33),
                   "frames_per_message must be in 1..32 with textures of 4.0 MB")


# --- defect 8: wrong answers become INVALID_ARGUMENT ----------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_inside_an_encoded_float_wav_is_refused(hostile_daemon, stub, bad):
    samples = np.sin(np.arange(16_000) / 10).astype(np.float32) * 0.5
    samples[::300] = bad
    assert_invalid(hostile_daemon, animate(stub, float_wav(samples), animator="energy"), "NaN or infinity")


def real_avatar_doc() -> dict:
    import msgpack

    from facecast.face import Avatar

    return msgpack.unpackb(Avatar.from_file(ASSETS / "mona_lisa.jpg").to_bytes(), raw=False)


@pytest.fixture(scope="module")
def avatar_doc() -> dict:
    return real_avatar_doc()


def edited(doc: dict, **fields) -> bytes:
    import msgpack

    return msgpack.packb({**doc, **fields}, use_bin_type=True)


BAD_AVATAR_FIELDS = {
    "metadata is a list": {"metadata": [1, 2]},
    "box is text": {"box": "abc"},
    "box of three": {"box": [1.0, 2.0, 3.0]},
    "image size negative": {"image_size": [-5, 10]},
    "image size huge int": {"image_size": [2**63, 1]},
    "score NaN": {"score": float("nan")},
    "rig scale huge": {"rig_scale": 1e30},
    "landmarks short": {"landmarks": b"\x00" * 12},
    "landmarks all zero": {"landmarks": bytes(468 * 3 * 4)},
    "landmarks on a line": {"landmarks": np.column_stack([np.linspace(10, 400, 468), np.full(468, 50.0),
                                                          np.zeros(468)]).astype("<f4").tobytes()},
    "landmarks far away": {"landmarks": np.full((468, 3), 1e9, "<f4").tobytes()},
    "png is garbage": {"image_png": b"\x89PNG\r\n\x1a\nxxxx"},
    "png is text": {"image_png": "not bytes"},
    "no faces_found": {"faces_found": None},
}


@pytest.mark.parametrize("case", BAD_AVATAR_FIELDS)
def test_bad_fcavatar_metadata_is_invalid_argument(hostile_daemon, stub, avatar_doc, case):
    data = edited(avatar_doc, **BAD_AVATAR_FIELDS[case])
    assert_invalid(hostile_daemon, lambda: stub.CreateAvatar(pb.CreateAvatarRequest(avatar=data), timeout=60))


def test_a_real_fcavatar_still_loads(hostile_daemon, stub, avatar_doc):
    response = stub.CreateAvatar(pb.CreateAvatarRequest(avatar=edited(avatar_doc)), timeout=60)
    assert response.avatar_id


@pytest.mark.parametrize("field", ["emotion", "animator", "avatar"])
def test_errors_do_not_echo_unbounded_input(hostile_daemon, stub, field):
    long = "x" * 200_000
    request = pb.AnimateRequest(audio=pb.AudioInput(encoded=SPEECH))
    if field == "emotion":
        request.controls.emotion = long
    elif field == "animator":
        request.animator = long
    else:
        request.texture.avatar_id, request.texture.encoding = long, pb.JPEG
    message = assert_invalid(hostile_daemon, lambda: stub.Animate(request, timeout=30), "characters")
    assert len(message) < 400, len(message)


@pytest.mark.parametrize("size", [1, 127, 2049, 2**31 - 1, -5])
def test_texture_size_is_bounded(hostile_daemon, stub, size):
    avatar = stub.CreateAvatar(pb.CreateAvatarRequest(image=(ASSETS / "mona_lisa.jpg").read_bytes()), timeout=60)
    texture = pb.TextureOptions(avatar_id=avatar.avatar_id, encoding=pb.JPEG, size=size)
    assert_invalid(hostile_daemon, animate(stub, SPEECH, animator="energy", texture=texture), "texture size")
