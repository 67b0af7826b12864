"""The learned animator through a real ONNX Runtime session on real speech (the shipped weights)."""

from __future__ import annotations

import subprocess
import sys
import warnings
from dataclasses import replace

import numpy as np
import pytest

from facecast.animators import DEFAULT_ANIMATOR, animator_names, get_animator, whisper_jaw
from facecast.animators.base import run_session
from facecast.animators.neural import NeuralAnimator, NeuralSession
from facecast.audio import MODEL_RATE, Audio, load_audio, resample
from facecast.controls import Controls
from facecast.motion import BLENDSHAPES, CHANNEL_INDEX, NUM_BLENDSHAPES, MotionClip
from facecast.phonemes import espeak

from conftest import ASSETS

JAW = CHANNEL_INDEX["JawOpen"]
HEAD = [CHANNEL_INDEX[n] for n in ("HeadYaw", "HeadPitch", "HeadRoll")]
MOUTH = [CHANNEL_INDEX[n] for n in BLENDSHAPES if n.startswith(("Jaw", "Mouth"))]


@pytest.fixture(scope="module")
def neural() -> NeuralAnimator:
    animator = get_animator("neural")
    assert isinstance(animator, NeuralAnimator)
    return animator


@pytest.fixture(scope="module")
def plain(neural) -> NeuralAnimator:
    """The same weights, whole clips not fused with phonetic: exactly what a stream gives."""
    return NeuralAnimator(neural.model.path, fuse=False)


@pytest.fixture(scope="module")
def speech() -> Audio:
    return load_audio(ASSETS / "speech_en.wav")


class Live:
    """``neural``'s live streams in 20 ms pieces, as a clip (what the daemon's Stream gives)."""

    def __init__(self, animator: NeuralAnimator) -> None:
        self.animator = animator

    def animate(self, audio: Audio, controls: Controls | None = None, fps: int = 30) -> MotionClip:
        session = self.animator.stream(controls or Controls(), fps)
        return MotionClip.from_frames(fps, run_session(session, audio.samples, chunk_s=0.02))


@pytest.fixture(scope="module")
def live(neural) -> Live:
    return Live(neural)


def streamed(animator: NeuralAnimator, audio: Audio, controls: Controls, chunk: int) -> np.ndarray:
    session = animator.stream(controls)
    frames = []
    for start in range(0, len(audio.samples), chunk):
        frames += session.push(audio.samples[start:start + chunk])
    frames += session.flush()
    assert [f.index for f in frames] == list(range(len(frames)))
    return np.stack([f.values for f in frames])


def test_neural_is_registered_beside_the_defaults():
    assert "neural" in animator_names() and DEFAULT_ANIMATOR in animator_names()
    assert get_animator("neural").describe()["lookahead_ms"] <= 100


@pytest.mark.parametrize("which", ["plain", "neural", "live"])  # the model alone, fused with Whisper: clips, streams
def test_jaw_follows_speech_and_rests_in_silence(request, which, speech):
    pause = np.zeros(MODEL_RATE, np.float32)
    audio = Audio(np.concatenate([pause, speech.samples, pause]), MODEL_RATE)
    clip = request.getfixturevalue(which).animate(audio, Controls())
    jaw = clip.curve("JawOpen")
    fps = clip.fps
    silent = np.concatenate([jaw[5:fps - 5], jaw[-fps + 5:-5]])
    talking = jaw[fps + 5:-fps - 5]
    assert talking.mean() > silent.mean() + 0.05
    assert silent.max() < talking.max() * 0.5
    # Frame by frame the jaw follows what the phone recogniser hears (an unrelated way of hearing the same
    # speech: 0.62 for the model alone, 0.55 fused with Whisper), and loosely the loudness (0.55 and 0.25: a real
    # mouth follows loudness only loosely too, and the Whisper head follows the real mouth best).
    heard = get_animator("phonetic").animate(audio, Controls()).curve("JawOpen")
    n = min(len(jaw), len(heard))
    assert np.corrcoef(heard[fps:n - fps], jaw[fps:n - fps])[0, 1] > 0.4
    hop = MODEL_RATE // fps
    loud = np.array([np.sqrt(np.mean(audio.samples[i * hop:(i + 1) * hop] ** 2) + 1e-8) for i in range(len(jaw))])
    assert np.corrcoef(np.log(loud[fps:-fps]), jaw[fps:-fps])[0, 1] > 0.15


@pytest.mark.parametrize("level_db", [-70.0, -55.0])
@pytest.mark.parametrize("which", ["plain", "neural", "live"])
def test_lips_rest_in_a_pause_filled_with_room_noise(request, which, speech, level_db):
    # A phrase, 1.5 s of a room's low rumble (brown noise; speech peaks near -20 dBFS), the rest of the phrase.
    rng = np.random.default_rng(3)
    rumble = np.cumsum(rng.normal(size=int(1.5 * MODEL_RATE)))
    rumble = (rumble - np.convolve(rumble, np.ones(801) / 801, mode="same")).astype(np.float32)
    rumble *= 10 ** (level_db / 20) / rumble.std()
    cut = 4 * MODEL_RATE
    audio = Audio(np.concatenate([speech.samples[:cut], rumble, speech.samples[cut:]]), MODEL_RATE)
    clip = request.getfixturevalue(which).animate(audio, Controls(), fps=25)
    jaw = clip.curve("JawOpen")
    pause = jaw[int(4.3 * 25):int(5.3 * 25)]  # after the last syllable has closed, before the next one
    talking = np.concatenate([jaw[:100], jaw[int(5.6 * 25):]])
    assert pause.mean() < 0.25 * talking.mean(), (pause.mean(), talking.mean())


def test_offline_equals_streaming_for_any_chunk_size(plain, speech):
    controls = Controls(seed=4)
    offline = plain.animate(speech, controls).values
    for chunk in (333, 4096, MODEL_RATE * 3):
        np.testing.assert_allclose(streamed(plain, speech, controls, chunk), offline, atol=2e-5)
    short = Audio(speech.samples[:MODEL_RATE], MODEL_RATE)  # 20 ms chunks, as live streams send them
    np.testing.assert_allclose(streamed(plain, short, controls, 320), plain.animate(short, controls).values,
                               atol=2e-5)


def test_whole_clips_fuse_the_models_jaw_with_phonetic_and_keep_the_rest_of_its_face(neural, plain, speech):
    controls = Controls(seed=4)
    neural = NeuralAnimator(neural.model.path, fuse_whisper=False, fuse_phonetic=True)
    fused, alone = neural.animate(speech, controls), plain.animate(speech, controls)
    heard = get_animator("phonetic").animate(speech, controls).curve("JawOpen")
    assert fused.metadata["jaw"] == "fused with phonetic" and fused.metadata["phone_source"] == "recognition"
    assert fused.num_frames == alone.num_frames
    others = [c for c in range(fused.values.shape[1]) if c != JAW]
    np.testing.assert_allclose(fused.values[:, others], alone.values[:, others], atol=2e-5)  # the model's face
    jaw, model_jaw = fused.curve("JawOpen"), alone.curve("JawOpen")
    n = min(len(jaw), len(heard))
    assert np.corrcoef(jaw[:n], heard[:n])[0, 1] > np.corrcoef(model_jaw[:n], heard[:n])[0, 1] + 0.05
    assert np.corrcoef(jaw, model_jaw)[0, 1] > 0.6
    assert abs(jaw.mean() - model_jaw.mean()) < 0.2 * model_jaw.mean() + 0.01  # on the model's scale
    # the daemon's Animate pushes the clip in chunks: the replayed take comes out whole, in order, once
    session = neural.clip_session(speech, controls, 30)
    frames = []
    for start in range(0, len(speech.samples), 4000):
        got = session.push(speech.samples[start:start + 4000])
        assert all(f.time <= (start + 4000) / MODEL_RATE for f in got)  # never ahead of the audio
        frames += got
    frames += session.flush()
    assert [f.index for f in frames] == list(range(fused.num_frames))
    np.testing.assert_allclose(np.stack([f.values for f in frames]), fused.values, atol=2e-5)


@pytest.mark.skipif(not whisper_jaw.available(), reason="the Whisper encoder and jaw head are not in this checkout")
def test_whole_clips_fuse_the_jaw_with_whisper_by_default_and_keep_the_rest_of_the_face(neural, plain, speech):
    controls = Controls(seed=4)
    fused, alone = neural.animate(speech, controls), plain.animate(speech, controls)
    assert "Whisper" in fused.metadata["jaw"] and neural.fuse_whisper
    read = whisper_jaw.WhisperJaw().jaw(speech.samples, 30, fused.num_frames)
    others = [c for c in range(fused.values.shape[1]) if c != JAW]
    np.testing.assert_allclose(fused.values[:, others], alone.values[:, others], atol=2e-5)
    jaw, model_jaw = fused.curve("JawOpen"), alone.curve("JawOpen")
    assert np.corrcoef(jaw, read)[0, 1] > np.corrcoef(model_jaw, read)[0, 1] + 0.1
    assert np.corrcoef(jaw, model_jaw)[0, 1] > 0.4
    # the model keeps its scale: the fused curve has the model's mean and spread
    assert abs(jaw.mean() - model_jaw.mean()) < 0.05 and abs(jaw.std() - model_jaw.std()) < 0.05


def test_values_are_finite_and_in_range_and_lookahead_is_bounded(neural, speech):
    clip = neural.animate(speech, Controls(emotion="happy", intensity=2.0, head_motion=3.0))
    assert np.isfinite(clip.values).all() and np.isfinite(clip.head_translation).all()
    assert clip.values[:, :NUM_BLENDSHAPES].min() >= 0 and clip.values[:, :NUM_BLENDSHAPES].max() <= 1
    assert np.abs(clip.values[:, HEAD]).max() < 0.8
    assert neural.lookahead_ms <= 100


def test_same_seed_same_motion_other_seed_other_head_same_mouth(plain, speech):
    a = plain.animate(speech, Controls(seed=1)).values
    b = plain.animate(speech, Controls(seed=1)).values
    c = plain.animate(speech, Controls(seed=2)).values
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a[:, MOUTH], c[:, MOUTH], atol=1e-6)
    head_a, head_c = a[:, HEAD], c[:, HEAD]
    assert np.abs(head_a - head_c).mean() > 0.3 * head_a.std()
    assert head_a.std() > 0.003  # the head moves (radians)


INTERVIEW_VIDEOS = ("styletalk/feifeili_clip3.mp4", "voxceleb2_pcavs/Audio_Source_00015.mp4",
                    "voxceleb2_pcavs/Audio_Source_681100216.mp4")


@pytest.mark.slow
def test_the_default_head_moves_as_fast_as_real_people_talking(plain, shared_data):
    """Three real talking videos outside a studio (an interview, two VoxCeleb2 clips), captured: their head speed
    against the learned head's on the same audio at the default controls. Issue 15 asks for 0.5-2x; the head's
    calibration (neural.HEAD_GAIN) claims 2/3-1.5x, which the unscaled head (0.55x here) missed."""
    from facecast.face.capture import capture_video
    from facecast.train.evaluate import head_speed

    real, learned = [], []
    for name in INTERVIEW_VIDEOS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            take = capture_video(shared_data / "train" / name, progress=False)
        assert take.audio is not None
        fps = take.clip.fps
        audio = Audio(resample(take.audio.samples, take.audio.sample_rate, MODEL_RATE), MODEL_RATE)
        real.append(head_speed(take.clip.values, fps))
        learned.append(head_speed(plain.animate(audio, Controls(), fps=fps).values, fps))
    ratio = float(np.mean(learned) / np.mean(real))
    assert 2 / 3 <= ratio <= 1.5, (real, learned)


def test_controls_change_mid_stream(neural, speech):
    session = neural.stream(Controls(seed=3))
    half = len(speech.samples) // 2
    before = session.push(speech.samples[:half])
    session.update_controls(Controls(seed=3, emotion="happy", emotion_intensity=1.0, head_motion=0.0))
    after = session.push(speech.samples[half:]) + session.flush()
    smile = CHANNEL_INDEX["MouthSmileLeft"]
    assert np.mean([f.values[smile] for f in after]) > np.mean([f.values[smile] for f in before]) + 0.3
    assert max(abs(f.values[h]) for f in after[2:] for h in HEAD) < 1e-6  # head-motion 0 stops the head
    assert max(abs(f.values[h]) for f in before for h in HEAD) > 1e-3


def test_many_channels_move_and_left_right_differ(neural, speech):
    values = neural.animate(speech, Controls()).values
    moving = (values[:, :NUM_BLENDSHAPES].max(0) - values[:, :NUM_BLENDSHAPES].min(0)) > 0.01
    assert moving.sum() >= 40
    pairs = [(CHANNEL_INDEX[n], CHANNEL_INDEX[n.replace("Left", "Right")]) for n in BLENDSHAPES if "Left" in n]
    differ = sum(np.abs(values[:, i] - values[:, j]).max() > 1e-3 for i, j in pairs)
    assert differ >= len(pairs) // 2


def test_streams_fuse_the_models_jaw_with_whisper_and_keep_the_rest_of_the_face(neural, plain, live, speech):
    controls = Controls(seed=4)
    fused, alone = live.animate(speech, controls).values, plain.animate(speech, controls).values
    assert neural.fuse_stream and not plain.fuse_stream
    others = [i for i in range(fused.shape[1]) if i not in (JAW, CHANNEL_INDEX["MouthClose"])]
    np.testing.assert_allclose(fused[:, others], alone[:, others], atol=2e-5)
    assert np.abs(fused[:, JAW] - alone[:, JAW]).mean() > 0.01
    # the fused stream follows the clip path's jaw (Whisper over the whole clip) more closely than the model alone
    clip = neural.animate(speech, controls).values[:, JAW]
    assert np.corrcoef(fused[:, JAW], clip)[0, 1] > np.corrcoef(alone[:, JAW], clip)[0, 1] + 0.02


def test_run_batch_gives_each_stream_what_it_gets_alone(neural, plain, speech):
    audio = Audio(speech.samples[:3 * MODEL_RATE], MODEL_RATE)
    controls = [Controls(seed=s) for s in (0, 5, 9)]
    alone = [streamed(neural, audio, c, 1600) for c in controls]
    sessions = [neural.stream(c) for c in controls]
    offsets = (0, 160, 4000)  # streams that started at different moments
    got: list[list] = [[] for _ in sessions]
    pos = [0, 0, 0]
    for step in range(100):
        work = []
        for k, s in enumerate(sessions):
            size = 1600 + offsets[k] if step == 0 else 1600
            chunk = audio.samples[pos[k]:pos[k] + size]
            pos[k] += size
            work.append((s, chunk if len(chunk) else None))
        for k, result in enumerate(neural.run_batch(work)):
            assert not isinstance(result, Exception)
            got[k] += result
        if all(w[1] is None for w in work):
            break
    for k in range(3):
        np.testing.assert_allclose(np.stack([f.values for f in got[k]]), alone[k], atol=2e-5)


def test_run_batch_hands_a_failing_session_its_error(neural, speech):
    good = neural.stream(Controls())
    bad = neural.stream(Controls())
    results = neural.run_batch([(good, speech.samples[:8000]), (bad, np.array(["not audio"]))])
    assert isinstance(results[1], Exception) and not isinstance(results[0], Exception) and results[0]
    # a session that fails later, while the batch's frames are composed together
    alone = neural.stream(Controls()).push(speech.samples[:16000])
    good, bad = neural.stream(Controls()), neural.stream(Controls())
    bad._idle = None
    results = neural.run_batch([(good, speech.samples[:16000]), (bad, speech.samples[:16000])])
    assert isinstance(results[1], Exception) and not isinstance(results[0], Exception)
    # what it gets alone, up to float rounding (a batch of two rounds ONNX Runtime's products differently)
    np.testing.assert_allclose(np.stack([f.values for f in results[0]]), np.stack([f.values for f in alone]), atol=2e-5)
    # a session whose Whisper jaw fails while the batch's Whisper steps run together
    good, bad = neural.stream(Controls()), neural.stream(Controls())
    assert good.whisper is not None and bad.whisper is not None
    bad.whisper.stream = None
    results = neural.run_batch([(good, speech.samples[:16000]), (bad, speech.samples[:16000])])
    assert isinstance(results[1], AttributeError) and not isinstance(results[0], Exception)
    np.testing.assert_allclose(np.stack([f.values for f in results[0]]), np.stack([f.values for f in alone]), atol=2e-5)


@pytest.mark.slow
def test_transcript_closes_the_lips_on_bilabials(neural):
    # the sentence spoken by espeak-ng, so the transcript fits the audio (one that does not is not used)
    text = "Maybe, but people bring bread and butter to my mum on Mondays."
    spoken = espeak.speak(text, "en-us+f2")
    audio = Audio(resample(spoken.samples.astype(np.float32), spoken.sample_rate, MODEL_RATE), MODEL_RATE)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "transcript does not fit" fallback
        clip = neural.animate(audio, Controls(), text=text)
    assert clip.metadata["phone_source"] == "alignment" and clip.metadata["closures"] >= 10
    plain = neural.animate(audio, Controls())
    assert clip.curve("MouthClose").sum() > 2 * plain.curve("MouthClose").sum()


def test_runtime_needs_neither_torch_nor_ctranslate2():
    code = ("import sys; from facecast.animators import get_animator; from facecast.audio import load_audio; "
            f"get_animator('neural').animate(load_audio({str(ASSETS / 'speech_en.wav')!r})); "
            "print('torch' in sys.modules, 'ctranslate2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_explicit_model_path_and_missing_model_is_a_clear_error(tmp_path, neural):
    same = NeuralAnimator(neural.model.path)
    assert same.model.meta == neural.model.meta
    from facecast.errors import FacecastError

    with pytest.raises(FacecastError, match="is missing"):
        NeuralAnimator(tmp_path / "nothing.onnx")


def test_session_type_is_neural(neural):
    assert isinstance(neural.stream(replace(Controls(), seed=1)), NeuralSession)


def test_daemon_streams_and_animates_with_neural(daemon, speech):
    from facecast.client import Client

    with Client(daemon.address, timeout=120) as client:
        info = client.info()
        assert "neural" in [a["name"] for a in info["animators"]]
        assert "CPUExecutionProvider" in info["providers"]
        live = client.stream(sample_rate=MODEL_RATE, animator="neural", fps=30, sample_format="float32", seed=2)
        for start in range(0, 2 * MODEL_RATE, 320):
            live.send(speech.samples[start:start + 320])
        live.end()
        frames = list(live.frames())
        clip = client.animate(ASSETS / "speech_en.wav", animator="neural")
    assert [f.index for f in frames] == list(range(60))
    alone = streamed(get_animator("neural"), Audio(speech.samples[:2 * MODEL_RATE], MODEL_RATE), Controls(seed=2),
                     320)
    np.testing.assert_allclose(np.stack([f.values for f in frames]), alone, atol=1e-4)
    assert clip.num_frames == 240 and clip.curve("JawOpen").std() > 0.02
