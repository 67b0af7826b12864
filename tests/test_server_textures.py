"""Portrait avatars and texture frames through the daemon: CreateAvatar, Animate and Stream with textures."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from facecast import wire
from facecast.audio import load_audio
from facecast.client import Client, ServerError, stream_file_chunks, texture_options
from facecast.motion import CHANNELS, MotionFrame
from facecast.proto import facecast_pb2 as pb
from facecast.render.texture import decode_texture
from facecast.server.avatars import AvatarStore, TextureStream

from conftest import ASSETS


@pytest.fixture(scope="module")
def client_and_avatar(daemon):
    with Client(daemon.address, timeout=120) as client:
        reply = client.create_avatar(ASSETS / "mona_lisa.jpg")
        yield client, reply


def test_create_avatar_returns_the_fit(client_and_avatar):
    _, reply = client_and_avatar
    assert len(reply.avatar_id) == 16 and reply.width > 0 and reply.height > 0
    landmarks = np.asarray(reply.landmarks).reshape(468, 3)
    assert landmarks[:, 0].min() >= 0 and landmarks[:, 0].max() <= reply.width


@pytest.mark.slow
def test_animate_with_jpeg_textures(client_and_avatar):
    client, reply = client_and_avatar
    responses = list(client.animate_responses(ASSETS / "speech_en.wav", texture=texture_options(
        reply.avatar_id, "jpeg", size=256)))
    frames = [f for r in responses if r.WhichOneof("kind") == "frames" for f in r.frames.frames]
    textures = [r.texture for r in responses if r.WhichOneof("kind") == "texture"]
    assert [t.index for t in textures] == [f.index for f in frames] == list(range(240))
    images = [decode_texture(t.data, "jpeg", t.width, t.height) for t in textures[::40]]
    assert all(image.shape == (256, 256, 3) for image in images)
    assert np.abs(images[0].astype(int) - images[3].astype(int)).mean() > 0.3  # the face moves


def test_stream_with_rgba_textures(client_and_avatar):
    client, reply = client_and_avatar
    audio = load_audio(ASSETS / "speech_en.wav")
    with client.stream(sample_rate=16_000, texture=texture_options(reply.avatar_id, "rgba", size=128)) as live:
        for chunk in stream_file_chunks(audio.samples[:16_000], 16_000, 100):
            live.send(chunk)
        live.end()
        responses = list(live.responses())
    textures = [r.texture for r in responses if r.WhichOneof("kind") == "texture"]
    assert len(textures) == 30
    assert all(len(t.data) == 128 * 128 * 4 for t in textures)


@pytest.mark.parametrize("options, message", [
    (lambda _: texture_options("0123456789abcdef"), "unknown avatar id"),
    (lambda avatar: texture_options(avatar, size=9000), "render size"),
    (lambda avatar: pb.TextureOptions(avatar_id=avatar, encoding=pb.JPEG, jpeg_quality=500), "jpeg_quality"),
    (lambda avatar: pb.TextureOptions(encoding=pb.JPEG), "need an avatar_id"),
])
def test_bad_texture_requests(daemon, client_and_avatar, options, message):
    client, reply = client_and_avatar
    with pytest.raises(ServerError, match=message):
        list(client.animate_responses(ASSETS / "speech_en.wav", texture=options(reply.avatar_id)))
    assert daemon.alive()


def test_bad_avatar_images(client_and_avatar):
    client, _ = client_and_avatar
    gray = np.full((300, 300, 3), 128, np.uint8)
    import cv2

    ok, png = cv2.imencode(".png", gray)
    with pytest.raises(ServerError, match="no face found"):
        client.create_avatar(png.tobytes())
    with pytest.raises(ServerError, match="INVALID_ARGUMENT"):
        client.create_avatar(b"definitely not an image")
    with pytest.raises(ServerError, match="unknown avatar id"):
        client.delete_avatar("nope")


def test_oldest_avatar_is_dropped_past_the_limit():
    from daemon import Daemon

    daemon = Daemon("--max-avatars", "1")
    try:
        with Client(daemon.address, timeout=60) as client:
            first = client.create_avatar(ASSETS / "mona_lisa.jpg").avatar_id
            second = client.create_avatar(ASSETS / "drawing_man.jpg").avatar_id
            assert client.info()["avatars"] == 1
            with pytest.raises(ServerError, match="unknown avatar id"):
                client.delete_avatar(first)
            client.delete_avatar(second)
            assert client.info()["avatars"] == 0
    finally:
        daemon.stop()


def test_stream_textures_render_in_batches_within_the_byte_bound(monkeypatch):
    """A live chunk's texture frames are rendered wire.MAX_TEXTURE_BATCH_BYTES at a time, in order, none lost
    at the batch edges (with 2048-px RGBA frames that is 8 frames, not the 300 a 10 s chunk yields)."""
    store = AvatarStore()
    avatar_id, _ = store.create(pb.CreateAvatarRequest(image=(ASSETS / "mona_lisa.jpg").read_bytes()))
    assert TextureStream.frame_bytes(texture_options(avatar_id, "rgba", size=2048)) * 8 == wire.MAX_TEXTURE_BATCH_BYTES
    monkeypatch.setattr(wire, "MAX_TEXTURE_BATCH_BYTES", 3 * 128 * 128 * 4)  # three 128-px RGBA frames
    frames = [MotionFrame(i, i / 30, np.full(len(CHANNELS), 0.05 * (i % 3), np.float32)) for i in range(10)]

    async def batches() -> list[list[pb.MotionResponse]]:
        textures = await TextureStream.open(texture_options(avatar_id, "rgba", size=128), store, executor)
        assert textures is not None and textures.batch_frames == 3
        return [batch async for batch in textures.batches(frames)]

    with ThreadPoolExecutor(1) as executor:
        rendered = asyncio.run(batches())
    assert [len(batch) for batch in rendered] == [3, 3, 3, 1]
    assert [r.texture.index for batch in rendered for r in batch] == list(range(10))
    assert all(len(r.texture.data) == 128 * 128 * 4 for batch in rendered for r in batch)
