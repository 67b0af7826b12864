import io

import av
import numpy as np
import pytest
import soundfile

from facecast.audio import MODEL_RATE, from_pcm, load_audio, pcm_samples
from facecast.errors import AudioError


def tone(seconds: float = 1.0, rate: int = 44_100) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def encode(samples: np.ndarray, rate: int, fmt: str, codec: str | None = None) -> bytes:
    if fmt in ("WAV", "FLAC", "OGG"):
        buf = io.BytesIO()
        soundfile.write(buf, samples, rate, format=fmt)
        return buf.getvalue()
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="flt", layout="mono")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


@pytest.mark.parametrize("fmt, codec", [("WAV", None), ("FLAC", None), ("OGG", None), ("mp3", "mp3"),
                                        ("ipod", "aac")])
def test_decodes_common_formats_and_resamples(fmt, codec):
    audio = load_audio(encode(tone(1.0), 44_100, fmt, codec))
    assert audio.sample_rate == MODEL_RATE
    assert abs(audio.duration - 1.0) < 0.1
    assert 0.15 < np.abs(audio.samples).max() < 0.4


def test_real_speech_file(assets):
    audio = load_audio(assets / "speech_en.wav")
    assert audio.sample_rate == MODEL_RATE and 7.5 < audio.duration < 8.5 and len(audio.sha256) == 64


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"garbage bytes that are no audio at all" * 10, "not an audio file"),
])
def test_unreadable_input(data, message):
    with pytest.raises(AudioError, match=message):
        load_audio(data)


def test_silence_and_length_limits():
    silence = encode(np.zeros(16_000 * 2, np.float32), 16_000, "WAV")
    with pytest.raises(AudioError, match="silent"):
        load_audio(silence)
    assert load_audio(silence, allow_silence=True).duration == 2.0
    with pytest.raises(AudioError, match="the limit is 1 s"):
        load_audio(encode(tone(2.0), 16_000, "WAV"), max_seconds=1)


def test_video_without_audio_is_named(tmp_path):
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i in range(5):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), i * 40, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    with pytest.raises(AudioError, match="no audio stream"):
        load_audio(buf.getvalue())


def test_pcm_checks():
    pcm = (tone(0.5, 48_000) * 32767).astype("<i2").tobytes()
    assert from_pcm(pcm, 48_000).sample_rate == MODEL_RATE
    with pytest.raises(AudioError, match="8000 Hz is not supported"):
        pcm_samples(pcm, 8_000)
    with pytest.raises(AudioError, match="NaN"):
        pcm_samples(np.array([0.1, np.nan], "<f4").tobytes(), 16_000, "float32")
    with pytest.raises(AudioError, match="even number of bytes"):
        pcm_samples(b"\x00\x01\x02", 16_000)
    with pytest.raises(AudioError, match="PCM audio is empty"):
        from_pcm(b"", 16_000)
