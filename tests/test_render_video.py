"""MP4 and texture output: H.264 + AAC in sync, one video frame per motion frame, atomic, clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import av
import numpy as np
import pytest

from facecast.audio import Audio
from facecast.errors import InvalidInput
from facecast.face import Avatar, load_image
from facecast.motion import CHANNEL_INDEX, NUM_CHANNELS, MotionClip
from facecast.render import Renderer, decode_texture, encode_texture, write_video

ASSETS = Path(__file__).resolve().parents[1] / "assets"
SIZE = 256  # small frames keep the encoding tests quick; 512 is covered by the renderer tests and benchmarks


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer(Avatar.from_image(load_image(ASSETS / "mona_lisa.jpg")), SIZE)


def speaking_clip(frames: int, fps: int = 30) -> MotionClip:
    values = np.zeros((frames, NUM_CHANNELS), np.float32)
    t = np.arange(frames) / fps
    values[:, CHANNEL_INDEX["JawOpen"]] = 0.3 * (1 - np.cos(2 * np.pi * 2 * t))
    return MotionClip(fps, values)


def tone(seconds: float, rate: int = 16_000) -> Audio:
    t = np.arange(int(seconds * rate)) / rate
    return Audio((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)


def streams(path: Path) -> dict[str, tuple[str, int, float]]:
    """Per stream type: codec name, decoded frame count, duration in seconds."""
    out = {}
    with av.open(str(path)) as container:
        for stream in container.streams:
            count = sum(1 for _ in container.decode(stream)) if stream.type == "video" else stream.frames
            container.seek(0)
            out[stream.type] = (stream.codec_context.name, count, float(stream.duration * stream.time_base))
    return out


def test_mp4_has_h264_and_aac_in_sync(renderer: Renderer, tmp_path: Path) -> None:
    clip = speaking_clip(45, fps=30)
    path = tmp_path / "talk.mp4"
    seen = []
    write_video(path, clip, renderer, tone(1.5), progress=lambda done, total: seen.append((done, total)))
    info = streams(path)
    assert info["video"][0] == "h264" and info["video"][1] == 45
    assert info["video"][2] == pytest.approx(1.5, abs=1 / 30)
    assert info["audio"][0] == "aac"
    assert info["audio"][2] == pytest.approx(1.5, abs=0.07)  # AAC frames are 1024 samples (64 ms at 16 kHz)
    assert seen[-1] == pytest.approx((1.5, 1.5)) and len(seen) == 45
    with av.open(str(path)) as container:
        first = next(container.decode(video=0))
        assert first.pts * first.time_base == 0  # frame i shows time i / fps from the start, as the audio


def test_frames_in_the_mp4_are_the_rendered_frames(renderer: Renderer, tmp_path: Path) -> None:
    clip = speaking_clip(12, fps=25)
    path = tmp_path / "talk.mp4"
    write_video(path, clip, renderer)  # no audio: a silent video
    with av.open(str(path)) as container:
        assert not container.streams.audio
        decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    rendered = list(renderer.frames(clip.values))
    assert len(decoded) == 12
    for got, want in zip(decoded, rendered, strict=True):
        assert np.abs(got.astype(float) - want).mean() < 4  # H.264 at crf 23 and 4:2:0 chroma


def test_avatar_and_size_instead_of_renderer(tmp_path: Path) -> None:
    avatar = Avatar.from_image(load_image(ASSETS / "drawing_man.jpg"))
    path = tmp_path / "drawing.mp4"
    write_video(path, speaking_clip(6), avatar, tone(0.2), size=192)
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        assert (video.width, video.height) == (192, 192)


def test_failing_render_leaves_no_file(renderer: Renderer, tmp_path: Path) -> None:
    path = tmp_path / "broken.mp4"

    def stop_midway(done: float, total: float) -> None:
        if done > 0.2:
            raise RuntimeError("render interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        write_video(path, speaking_clip(30), renderer, tone(1.0), progress=stop_midway)
    assert os.listdir(tmp_path) == []  # neither the target nor a temporary file


def test_existing_file_survives_a_failed_render(renderer: Renderer, tmp_path: Path) -> None:
    path = tmp_path / "talk.mp4"
    path.write_bytes(b"previous take")
    with pytest.raises(InvalidInput, match="no frames"):
        write_video(path, MotionClip(30, np.zeros((0, NUM_CHANNELS), np.float32)), renderer)
    assert path.read_bytes() == b"previous take"


def test_bad_video_requests(renderer: Renderer, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=".mp4"):
        write_video(tmp_path / "talk.avi", speaking_clip(3), renderer)
    with pytest.raises(InvalidInput, match="even"):
        write_video(tmp_path / "talk.mp4", speaking_clip(3), Avatar.from_image(load_image(ASSETS / "mona_lisa.jpg")),
                    size=257)
    with pytest.raises(InvalidInput, match="AAC"):
        write_video(tmp_path / "talk.mp4", speaking_clip(3), renderer, Audio(np.zeros(100, np.float32), 17_000))
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("encoding", ["jpeg", "rgba"])
def test_texture_round_trip(renderer: Renderer, encoding: str) -> None:
    frame = renderer.render(speaking_clip(8).values[5])
    data = encode_texture(frame, encoding)
    back = decode_texture(data, encoding, SIZE, SIZE)
    if encoding == "rgba":
        assert len(data) == SIZE * SIZE * 4 and data[3::4] == b"\xff" * SIZE * SIZE
        np.testing.assert_array_equal(back, frame)
    else:
        assert data[:2] == b"\xff\xd8"
        assert np.abs(back.astype(float) - frame).mean() < 3


def test_texture_errors(renderer: Renderer) -> None:
    frame = renderer.render(np.zeros(NUM_CHANNELS, np.float32))
    with pytest.raises(InvalidInput, match="jpeg, rgba"):
        encode_texture(frame, "png")
    with pytest.raises(InvalidInput, match="RGB uint8"):
        encode_texture(frame.astype(np.float32), "jpeg")
    with pytest.raises(InvalidInput, match="bytes"):
        decode_texture(b"\x00" * 10, "rgba", SIZE, SIZE)


def test_audio_and_picture_line_up(renderer: Renderer, tmp_path: Path) -> None:
    """A click at 1.0 s and the mouth opening at frame 30 (of 30 fps) come out of the file at the same time."""
    values = np.zeros((60, NUM_CHANNELS), np.float32)
    values[30, CHANNEL_INDEX["JawOpen"]] = 0.8
    samples = np.zeros(32_000, np.float32)
    samples[16_000:16_080] = 0.9
    path = tmp_path / "sync.mp4"
    write_video(path, MotionClip(30, values), renderer, Audio(samples, 16_000))
    with av.open(str(path)) as container:
        frames = [(float(f.pts * f.time_base), f.to_ndarray(format="rgb24")) for f in container.decode(video=0)]
        container.seek(0)
        chunks = [(float(f.pts * f.time_base), f.to_ndarray()[0]) for f in container.decode(audio=0)]
    change = [np.abs(image.astype(int) - frames[0][1]).mean() for _, image in frames]
    mouth_time = frames[int(np.argmax(change))][0]
    sound = np.concatenate([chunk for _, chunk in chunks])
    click_time = chunks[0][0] + int(np.argmax(np.abs(sound))) / 16_000
    assert mouth_time == pytest.approx(1.0, abs=1e-6)
    assert click_time == pytest.approx(1.0, abs=0.01)
