"""facecast.media and fileio.atomic_dir: one PCM16 rule, wav files, JPEG frames, H.264/AAC files, atomic folders."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest
import soundfile as sf

from facecast.errors import InvalidInput
from facecast.fileio import atomic_dir
from facecast.media import H264Writer, encode_jpeg, float_to_pcm16, pcm16_to_float, write_wav


def test_pcm16_clips_and_rounds_to_the_nearest_step():
    pcm = float_to_pcm16(np.array([-2.0, -1.0, 0.0, 0.49 / 32767, 0.51 / 32767, 1.0, 3.0], np.float32))
    assert pcm.dtype == np.dtype("<i2")
    assert pcm.tolist() == [-32767, -32767, 0, 0, 1, 32767, 32767]
    back = pcm16_to_float(pcm.tobytes())
    assert back.dtype == np.float32 and np.all(np.abs(back) <= 1.0)
    # out x32767, in /32768 (libsndfile's rule): a round trip is off by at most a step and a half
    np.testing.assert_allclose(pcm16_to_float(float_to_pcm16(np.linspace(-1, 1, 101))), np.linspace(-1, 1, 101),
                               atol=1.5 / 32767)


def test_wav_to_a_path_and_to_a_file_object_hold_the_same_sound(tmp_path):
    samples = np.sin(np.linspace(0, 200, 16000)).astype(np.float32) * 0.5
    write_wav(tmp_path / "a.wav", samples, 16000)
    buffer = io.BytesIO()
    write_wav(buffer, samples, 16000)
    assert (tmp_path / "a.wav").read_bytes() == buffer.getvalue()
    data, rate = sf.read(tmp_path / "a.wav", dtype="float32")
    assert rate == 16000 and np.max(np.abs(data - samples)) < 1 / 32767
    assert [p.name for p in tmp_path.iterdir()] == ["a.wav"]  # no temporary file left beside it


def test_jpeg_frames_decode_to_the_same_picture():
    frame = np.zeros((48, 64, 3), np.uint8)
    frame[:, :32] = (250, 20, 20)
    data = encode_jpeg(frame, 95)
    assert data[:2] == b"\xff\xd8"
    with av.open(io.BytesIO(data)) as container:
        decoded = next(container.decode(video=0)).to_ndarray(format="rgb24")
    assert decoded.shape == frame.shape and np.abs(decoded.astype(int) - frame).mean() < 6


@pytest.mark.parametrize("container_format", ["mp4", "mov"])
def test_h264_file_has_every_frame_even_size_and_the_whole_sound(tmp_path, container_format):
    path = tmp_path / f"clip.{container_format}"
    frames = [np.full((33, 45, 3), 40 * i, np.uint8) for i in range(6)]
    sound = np.sin(np.linspace(0, 300, 8000)).astype(np.float32) * 0.3  # 0.5 s at 16 kHz, as long as the video
    with H264Writer(path, 12, sound, 16000, container_format, preset="veryfast") as video:
        for frame in frames:
            video.add(frame)
    assert video.size == (44, 32)
    with av.open(str(path)) as container:
        pictures = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        assert container.streams.audio[0].codec_context.name == "aac"
    with av.open(str(path)) as container:
        heard = sum(f.samples for f in container.decode(audio=0))
    assert len(pictures) == 6 and pictures[0].shape == (32, 44, 3)
    assert abs(heard - 8000) < 2048  # AAC pads to whole 1024-sample frames


def test_h264_refuses_a_sample_rate_aac_cannot_store(tmp_path):
    with pytest.raises(InvalidInput, match="cannot be stored as AAC"):
        H264Writer(tmp_path / "x.mp4", 30, np.zeros(100, np.float32), 12345)


def test_atomic_dir_appears_whole_or_not_at_all(tmp_path):
    target = tmp_path / "out" / "take"
    with pytest.raises(RuntimeError), atomic_dir(target) as partial:
        (partial / "half.txt").write_text("half")
        raise RuntimeError("stopped halfway")
    assert not target.exists() and list((tmp_path / "out").iterdir()) == []
    target.mkdir()  # an empty folder is replaced
    with atomic_dir(target) as partial:
        (partial / "whole.txt").write_text("whole")
    assert [p.name for p in target.iterdir()] == ["whole.txt"] and list((tmp_path / "out").iterdir()) == [target]
    with pytest.raises(OSError), atomic_dir(target) as partial:  # a non-empty one is never overwritten
        (partial / "other.txt").write_text("other")
    assert [p.name for p in target.iterdir()] == ["whole.txt"] and list((tmp_path / "out").iterdir()) == [target]
