"""Property-based fuzzing (hypothesis) of a real daemon on 127.0.0.1 (issue 14): request messages of every
facecast.v1 call and of the Audio2Face-3D endpoint, raw bytes that may not be protobuf at all, and the audio and
image decoders (mutated real files, forged headers). Every answer must be OK or a status that names the
client's mistake; no UNKNOWN, INTERNAL or UNAVAILABLE, no deadline passed, and the daemon must be alive after.

``make test`` runs :data:`EXAMPLES` cases in all (a few hundred, under a minute on 2 cores);
``make soak`` runs ``FACECAST_FUZZ_EXAMPLES=2000``. Case counts and answers are printed at the end (``-s``).
"""

from __future__ import annotations

import io
import os
import re
from collections import Counter

import grpc
import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from facecast.proto import facecast_pb2 as pb
from facecast.proto import facecast_pb2_grpc
from facecast.proto.a2f.nvidia_ace import audio_pb2
from facecast.proto.a2f.nvidia_audio2face_3d import audio2face_pb2_grpc
from facecast.proto.a2f.nvidia_audio2face_3d import messages_pb2 as a2f

from conftest import ASSETS
from daemon import Daemon
from helpers.hostile import fcavatar, ffconcat, png_bomb

EXAMPLES = int(os.environ.get("FACECAST_FUZZ_EXAMPLES", "600"))
SHARES = {"animate": 0.3, "stream": 0.2, "avatar": 0.2, "raw": 0.15, "a2f": 0.15}
ACCEPTED = {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED,
            grpc.StatusCode.NOT_FOUND, grpc.StatusCode.OUT_OF_RANGE, grpc.StatusCode.FAILED_PRECONDITION}
ANSWERS: Counter = Counter()
REASONS: Counter = Counter()  # the first words of each refusal, to see how deep the cases reach
TIMEOUT = 60


def fuzz_settings(share: str) -> settings:
    return settings(max_examples=max(10, int(EXAMPLES * SHARES[share])), deadline=None, database=None,
                    derandomize=EXAMPLES <= 600, suppress_health_check=list(HealthCheck), print_blob=True)


@pytest.fixture(scope="module")
def fuzzed():
    daemon = Daemon("--a2f-compat", "--a2f-port", "0")
    daemon.a2f_address = "127.0.0.1:" + re.search(r"\(a2f-compat on \S+:(\d+)\)", daemon.ready_line).group(1)
    options = [("grpc.max_send_message_length", 2**26), ("grpc.max_receive_message_length", 2**26)]
    daemon.channel = grpc.insecure_channel(daemon.address, options=options)
    daemon.a2f_channel = grpc.insecure_channel(daemon.a2f_address, options=options)
    daemon.stub = facecast_pb2_grpc.FacecastStub(daemon.channel)
    with open(ASSETS / "mona_lisa.jpg", "rb") as f:
        daemon.avatar_id = daemon.stub.CreateAvatar(pb.CreateAvatarRequest(image=f.read()), timeout=60).avatar_id
    yield daemon
    daemon.channel.close()
    daemon.a2f_channel.close()
    alive = daemon.alive()
    daemon.stop()
    print(f"\nfuzz: {sum(ANSWERS.values())} cases, answers {dict(ANSWERS)}, daemon alive at the end: {alive}")
    print("most common refusals:", REASONS.most_common(12))
    assert alive


def answer(daemon, call) -> None:
    """Make one call, reading every response; record and check its status."""
    try:
        result = call()
        if not isinstance(result, (bytes, pb.Info, pb.CreateAvatarResponse, pb.DeleteAvatarResponse)):
            for _ in result:
                pass
        code = grpc.StatusCode.OK
    except grpc.RpcError as e:
        code, details = e.code(), e.details() or ""
        assert code in ACCEPTED, (code, details[:500])
        assert details, code  # a refusal names the problem
        assert len(details) < 2000, len(details)
        REASONS[" ".join(re.sub(r"[^a-z ]", "", details.lower()).split()[:5])] += 1
    ANSWERS[code.name] += 1
    assert daemon.alive(), "the daemon died"


# --- material ---------------------------------------------------------------------------------------------------

def _speech(seconds: float, rate: int = 16_000) -> np.ndarray:
    samples, native = sf.read(ASSETS / "speech_en.wav", dtype="float32")
    return samples[:int(seconds * native)]


def _encoded(fmt: str, subtype: str | None = None) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, _speech(0.6), 16_000, format=fmt, subtype=subtype)
    return buf.getvalue()


def _image(fmt: str, size: int = 48) -> bytes:
    buf = io.BytesIO()
    Image.open(ASSETS / "mona_lisa.jpg").convert("RGB").resize((size, size)).save(buf, fmt)
    return buf.getvalue()


AUDIO_FILES = [_encoded("WAV"), _encoded("WAV", "FLOAT"), _encoded("FLAC"), _encoded("OGG")]
IMAGE_FILES = [_image("PNG"), _image("JPEG"), _image("WEBP"), png_bomb(40, 40, 4)]
MAGIC = [b"RIFF\x24\x00\x00\x00WAVEfmt ", b"fLaC\x00\x00\x00\x22", b"OggS\x00\x02", b"ID3\x04\x00",
         b"\xff\xfb\x90", b"\x00\x00\x00\x18ftypM4A ", b"\x1a\x45\xdf\xa3", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0",
         b"RIFF\x00\x00\x00\x00WEBP", b"%!PS-Adobe-3.0", b"GIF89a", b"BM", ffconcat("assets/speech_en.wav"),
         b"#EXTM3U\n", b""]
SPEECH_PCM16 = (_speech(0.5) * 32767).astype("<i2").tobytes()


@st.composite
def mutated(draw, files: list[bytes]) -> bytes:
    """A real file with bytes flipped, cut or spliced, or a known magic number followed by random bytes."""
    if draw(st.booleans()):
        return draw(st.sampled_from(MAGIC)) + draw(st.binary(max_size=400))
    data = bytearray(draw(st.sampled_from(files)))
    for _ in range(draw(st.integers(0, 8))):
        at = draw(st.integers(0, len(data) - 1))
        data[at] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[:draw(st.integers(1, len(data)))]
    return bytes(data)


def likely(valid: object, strategy: st.SearchStrategy) -> st.SearchStrategy:
    """``valid`` two times in three, else a draw from ``strategy``: most cases then get past the first check."""
    return st.integers(0, 2).flatmap(lambda k: st.just(valid) if k < 2 else strategy)  # hypothesis favours 0


names = st.one_of(st.sampled_from(["", "energy", "phonetic", "neural", "happy", "joy", "en", "en-us", "de",
                                   "../../../../etc/hostname", "\x00", "é" * 10]),
                  st.text(max_size=40))
floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32), st.floats(-3, 3, width=32))
int32 = st.one_of(st.integers(-2**31, 2**31 - 1), st.sampled_from([0, 1, 24, 25, 30, 60, 300, 301, -1]))


@st.composite
def controls(draw) -> pb.Controls:
    if not draw(st.booleans()):
        return pb.Controls(emotion=draw(st.sampled_from(["", "happy", "joy", "sad"])))
    message = pb.Controls(emotion=draw(names))
    for field in ("emotion_intensity", "head_motion", "intensity", "blink_rate"):
        if draw(st.booleans()):
            setattr(message, field, draw(floats))
    if draw(st.booleans()):
        message.seed = draw(st.integers(0, 2**64 - 1))
    gaze = draw(st.sampled_from(["none", "camera", "gaze"]))
    if gaze == "camera":
        message.camera = True
    elif gaze == "gaze":
        message.gaze.yaw, message.gaze.pitch = draw(floats), draw(floats)
    return message


@st.composite
def audio_input(draw) -> pb.AudioInput:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return pb.AudioInput(encoded=draw(st.sampled_from(AUDIO_FILES)))
    if kind == 1:
        return pb.AudioInput(encoded=draw(mutated(AUDIO_FILES)))
    if kind == 2:
        return pb.AudioInput(pcm=pb.Pcm(data=SPEECH_PCM16, format=pb.PCM16, sample_rate=16_000))
    rate = draw(st.sampled_from([16_000, 22_050, 48_000, 8_000, 0, -1, 2**31 - 1]))
    data = draw(st.one_of(st.binary(max_size=6400),
                          st.just((_speech(0.4) * 32767).astype("<i2").tobytes())))
    return pb.AudioInput(pcm=pb.Pcm(data=data, format=draw(st.integers(-1, 3)), sample_rate=rate))


@st.composite
def texture(draw, avatar_id: str) -> pb.TextureOptions:
    kind = draw(st.integers(0, 11))
    if kind < 9:  # mostly motion only: rendering is slow on 2 cores
        return pb.TextureOptions()
    if kind < 11:
        return pb.TextureOptions(avatar_id=draw(st.sampled_from(["", "nope"])), encoding=draw(st.integers(-1, 0)))
    return pb.TextureOptions(avatar_id=draw(st.sampled_from([avatar_id, "", "x" * 100])),
                             encoding=draw(st.integers(-1, 3)), size=draw(st.sampled_from([0, 128, 1, 4096, -1])),
                             jpeg_quality=draw(st.integers(-5, 105)))


# --- the properties ---------------------------------------------------------------------------------------------

@given(data=st.data())
@fuzz_settings("animate")
def test_fuzz_animate(fuzzed, data):
    request = pb.AnimateRequest(
        audio=data.draw(audio_input()), animator=data.draw(likely("energy", st.sampled_from(["", "phonetic"]) | names)),
        fps=data.draw(likely(30, int32)), controls=data.draw(controls()), echo_audio=data.draw(st.booleans()),
        frames_per_message=data.draw(likely(0, int32)), texture=data.draw(texture(fuzzed.avatar_id)))
    if data.draw(st.integers(0, 4)) == 4:
        request.animator = data.draw(likely("phonetic", names))
        request.text, request.language = data.draw(st.text(max_size=60)), data.draw(likely("en", names))
    answer(fuzzed, lambda: fuzzed.stub.Animate(request, timeout=TIMEOUT))


@st.composite
def stream_messages(draw, avatar_id: str) -> list[pb.StreamRequest]:
    config = pb.StreamConfig(animator=draw(likely("energy", st.sampled_from(["", "phonetic"]) | names)),
                             fps=draw(likely(30, int32)),
                             sample_rate=draw(likely(16_000, st.sampled_from([48_000, 0, 11_025, -3]))),
                             format=draw(likely(pb.PCM16, st.integers(-1, 3))), controls=draw(controls()),
                             echo_audio=draw(st.booleans()), texture=draw(texture(avatar_id)))
    if draw(st.integers(0, 4)) == 4:
        config.animator = draw(likely("phonetic", names))
        config.text, config.language = draw(st.text(max_size=40)), draw(likely("en", names))
    messages = [pb.StreamRequest(config=config)] if draw(st.integers(0, 9)) < 9 else []
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["speech", "speech", "pcm", "controls", "config", "end", "empty"]))
        if kind == "speech":
            messages.append(pb.StreamRequest(pcm=SPEECH_PCM16[:draw(st.integers(0, 3200)) * 2]))
        elif kind == "pcm":
            messages.append(pb.StreamRequest(pcm=draw(st.binary(max_size=3200))))
        elif kind == "controls":
            messages.append(pb.StreamRequest(controls=draw(controls())))
        elif kind == "config":
            messages.append(pb.StreamRequest(config=config))
        elif kind == "end":
            messages.append(pb.StreamRequest(end=pb.End()))
        else:
            messages.append(pb.StreamRequest())
    return messages


@given(data=st.data())
@fuzz_settings("stream")
def test_fuzz_stream(fuzzed, data):
    messages = data.draw(stream_messages(fuzzed.avatar_id))
    answer(fuzzed, lambda: fuzzed.stub.Stream(iter(messages), timeout=TIMEOUT))


AVATAR_DOC_FIELDS = {"landmarks": st.binary(max_size=64) | st.just(np.zeros((468, 3), "<f4").tobytes()),
                     "box": st.lists(floats, max_size=5), "image_size": st.lists(st.integers(-5, 3000), max_size=3),
                     "score": floats, "rig_scale": floats,
                     "metadata": st.none() | st.integers(-2**63, 2**63 - 1) | st.text(),
                     "faces_found": st.integers(-3, 3) | st.text(max_size=3), "version": st.integers(0, 3),
                     "format": st.text(max_size=10), "image_png": st.binary(max_size=64)}


@st.composite
def avatar_request(draw) -> pb.CreateAvatarRequest:
    kind = draw(st.sampled_from(["image", "avatar", "image", "empty"]))
    if kind == "image":
        request = pb.CreateAvatarRequest(image=draw(mutated(IMAGE_FILES)))
    elif kind == "avatar":
        field = draw(st.sampled_from(sorted(AVATAR_DOC_FIELDS)))
        request = pb.CreateAvatarRequest(avatar=fcavatar(IMAGE_FILES[0], (48, 48),
                                                         **{field: draw(AVATAR_DOC_FIELDS[field])}))
    else:
        request = pb.CreateAvatarRequest()
    if draw(st.booleans()):
        request.face_box.x, request.face_box.y = draw(floats), draw(floats)
        request.face_box.width, request.face_box.height = draw(floats), draw(floats)
    return request


@given(data=st.data())
@fuzz_settings("avatar")
def test_fuzz_avatars(fuzzed, data):
    request = data.draw(avatar_request())
    answer(fuzzed, lambda: fuzzed.stub.CreateAvatar(request, timeout=TIMEOUT))
    avatar_id = data.draw(st.sampled_from(["", "nope", "x" * 5000]) | st.text(max_size=20))
    answer(fuzzed, lambda: fuzzed.stub.DeleteAvatar(pb.DeleteAvatarRequest(avatar_id=avatar_id), timeout=TIMEOUT))


RAW_METHODS = {"GetInfo": "unary_unary", "CreateAvatar": "unary_unary", "DeleteAvatar": "unary_unary",
               "Animate": "unary_stream", "Stream": "stream_stream"}


@given(method=st.sampled_from(sorted(RAW_METHODS)), payloads=st.lists(st.binary(max_size=300), min_size=1,
                                                                      max_size=4))
@fuzz_settings("raw")
def test_fuzz_raw_bytes(fuzzed, method, payloads):
    call = getattr(fuzzed.channel, RAW_METHODS[method])(f"/facecast.v1.Facecast/{method}")
    if RAW_METHODS[method] == "stream_stream":
        answer(fuzzed, lambda: call(iter(payloads), timeout=TIMEOUT))
    else:
        answer(fuzzed, lambda: call(payloads[0], timeout=TIMEOUT))


@st.composite
def a2f_messages(draw) -> list[a2f.AudioWithEmotionStream]:
    header = a2f.AudioWithEmotionStreamHeader(audio_header=audio_pb2.AudioHeader(
        channel_count=draw(likely(1, st.integers(0, 3))),
        samples_per_second=draw(likely(16_000, st.sampled_from([48_000, 0, 7]))),
        bits_per_sample=draw(likely(16, st.sampled_from([8, 0, 32])))))
    messages = [a2f.AudioWithEmotionStream(audio_stream_header=header)] if draw(st.integers(0, 5)) < 5 else []
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["audio", "audio", "end", "header", "empty"]))
        if kind == "audio":
            emotions = [a2f.EmotionWithTimeCode(time_code=draw(floats), emotion={draw(names): draw(floats)})
                        for _ in range(draw(st.integers(0, 2)))]
            audio = draw(st.one_of(st.just(SPEECH_PCM16[:6400]), st.binary(max_size=3200)))
            messages.append(a2f.AudioWithEmotionStream(audio_with_emotion=a2f.AudioWithEmotion(
                audio_buffer=audio, emotions=emotions)))
        elif kind == "end":
            messages.append(a2f.AudioWithEmotionStream(end_of_audio=a2f.AudioWithEmotionStream.EndOfAudio()))
        elif kind == "header":
            messages.append(a2f.AudioWithEmotionStream(audio_stream_header=header))
        else:
            messages.append(a2f.AudioWithEmotionStream())
    return messages


@given(messages=a2f_messages())
@fuzz_settings("a2f")
def test_fuzz_a2f(fuzzed, messages):
    stub = audio2face_pb2_grpc.A2FControllerServiceStub(fuzzed.a2f_channel)
    answer(fuzzed, lambda: stub.ProcessAudioStream(iter(messages), timeout=TIMEOUT))
