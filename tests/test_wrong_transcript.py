"""A transcript that does not fit the audio is not used silently (issue 13 #3): the alignment is scored, and a
transcript of other words falls back to the audio alone with a warning; a language without a voice is refused;
``--text``/``--language`` reach every place that animates (CLI, batch manifests, Blender, blender-bake,
``unreal take|stream``). Through the daemon the warning reaches the caller too (issue 17): the final Status of an
``Animate`` carries it (``done`` then one ``warning: TEXT`` line each, docs/DAEMON.md), the Python client re-raises
it as a ``UserWarning`` and keeps it in ``metadata["warnings"]``, the Blender job hands it to the bake operator."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from terminal import assert_ok, assert_one_line_error, run_in_terminal

import facecast
from facecast import wire
from facecast.audio import MODEL_RATE, load_audio, resample
from facecast.client import Client
from facecast.controls import Controls
from facecast.errors import InvalidInput
from facecast.phonemes import espeak
from facecast.phonemes.align import MIN_FIT, align, alignment_fit
from facecast.phonemes.languages import check_language
from facecast.phonemes.recognize import recognize

from daemon import Daemon

ROOT = Path(__file__).resolve().parents[1]
SPEECH = ROOT / "assets" / "speech_en.wav"
WRONG = "What the speaker says."  # the README's example, unrelated to the shipped clip
SENTENCE = "Please bring me the blue book from the kitchen table."
NOT_FIT = "the transcript does not fit the audio"


@pytest.fixture(scope="module")
def tts_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SENTENCE spoken by espeak-ng, as a wav file."""
    spoken = espeak.speak(SENTENCE, "en-us+f2")
    path = tmp_path_factory.mktemp("tts") / "sentence.wav"
    sf.write(path, resample(spoken.samples.astype(np.float32), spoken.sample_rate, MODEL_RATE), MODEL_RATE)
    return path


def test_alignment_fit_separates_the_right_transcript_from_a_wrong_one(tts_wav: Path) -> None:
    samples = load_audio(tts_wav).samples
    heard = recognize(samples)
    right = alignment_fit(samples, align(samples, SENTENCE), heard)
    real = load_audio(SPEECH).samples
    wrong = alignment_fit(real, align(real, WRONG), recognize(real))
    assert right > MIN_FIT > wrong, (right, wrong)


def test_wrong_transcript_falls_back_with_warning() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clip = facecast.animate(SPEECH, text=WRONG, seed=2)
    assert clip.metadata["phone_source"].startswith("recognition (transcript does not fit")
    assert any("transcript does not fit the audio" in str(w.message) for w in caught)
    np.testing.assert_array_equal(clip.values, facecast.animate(SPEECH, seed=2).values)  # as without a transcript


def test_right_transcript_still_aligns_without_warning(tts_wav: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clip = facecast.animate(tts_wav, text=SENTENCE)
    assert clip.metadata["phone_source"] == "alignment"
    assert not [w for w in caught if "transcript" in str(w.message)]


@pytest.mark.slow
def test_cli_wrong_transcript_is_one_warning_line(tmp_path: Path) -> None:
    output = assert_ok(run_in_terminal("animate", str(SPEECH), "--text", WRONG, "-o", "x.csv", cwd=tmp_path))
    lines = [line for line in output.splitlines() if line.startswith("facecast: warning:")]
    assert len(lines) == 1 and "transcript does not fit" in lines[0], output


def test_language_without_a_voice_is_refused() -> None:
    assert check_language("de") == "de" and check_language("EN") == "en" and check_language(None) is None
    assert check_language("en_US") == "en-us" and check_language(" ") == ""  # BCP-47 spelling; blank: none given
    for bad in ("xx", "klingon", "../../etc", "en us"):
        with pytest.raises(InvalidInput, match="language"):
            check_language(bad)
    with pytest.raises(InvalidInput, match="unknown language 'xx'"):
        facecast.animate(SPEECH, language="xx")


@pytest.mark.parametrize("args", [
    ["animate", str(SPEECH), "-o", "x.csv", "--language", "xx"],
    ["unreal", "take", str(SPEECH), "-o", "takes", "--text", "hello", "--language", "xx"],
    ["blender-bake", str(SPEECH), "-o", "x.blend", "--text", "hello", "--language", "xx"],
])
def test_cli_refuses_a_language_without_a_voice(tmp_path: Path, args: list[str]) -> None:
    assert_one_line_error(run_in_terminal(*args, cwd=tmp_path, timeout=60), "xx")
    assert not any(tmp_path.iterdir())


def test_batch_manifest_language_column(tmp_path: Path) -> None:
    german = "Guten Morgen, wie geht es Ihnen heute?"
    spoken = espeak.speak(german, "de")
    sf.write(tmp_path / "de.wav", resample(spoken.samples.astype(np.float32), spoken.sample_rate, MODEL_RATE),
             MODEL_RATE)
    (tmp_path / "en.wav").write_bytes(SPEECH.read_bytes())
    (tmp_path / "lines.csv").write_text("audio,name,text,language\n"
                                        f'de.wav,de,"{german}",de\n'
                                        "en.wav,bad,hello,xx\n")
    run = run_in_terminal("batch", "lines.csv", "-o", "out", "--format", "fcclip", cwd=tmp_path)
    assert run.status == 1 and "Traceback" not in run.output  # one line failed: the one without a voice
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    failed = {r["name"]: r["reason"] for r in report["lines"] if r["status"] == "failed"}
    assert list(failed) == ["bad"] and "unknown language 'xx'" in failed["bad"]
    made = facecast.load(tmp_path / "out" / "de.fcclip")
    local = facecast.animate(tmp_path / "de.wav", text=german, language="de")
    np.testing.assert_allclose(made.values, local.values, atol=1e-6)


def test_text_reaches_the_daemon_from_unreal_take_and_the_blender_job(daemon: Daemon, tts_wav: Path,
                                                                      tmp_path: Path) -> None:
    import sys

    sys.path.insert(0, str(ROOT / "plugins" / "blender"))
    from facecast_blender.jobs import animate_job

    local = facecast.animate(tts_wav, animator="phonetic", text=SENTENCE)
    without = facecast.animate(tts_wav, animator="phonetic")
    assert np.abs(local.values - without.values).max() > 0.05  # the transcript changes the take
    message = animate_job(daemon.address, None, tts_wav.read_bytes(), "phonetic", 30, Controls(), SENTENCE,
                          "en").start().wait(timeout=120)
    assert message.kind == "done", message.text
    np.testing.assert_allclose(message.result.values, local.values, atol=1e-6)
    assert_ok(run_in_terminal("unreal", "take", str(tts_wav), "-o", "takes", "--no-video", "--animator", "phonetic",
                              "--text", SENTENCE, "--server", daemon.address, cwd=tmp_path))
    take = facecast.load(next((tmp_path / "takes").rglob("*_iPhone.csv")))
    np.testing.assert_allclose(take.values[:, :52], local.values[:, :52], atol=1e-5)


def _final_status(client: Client, audio: Path, text: str) -> str:
    statuses = [r.status for r in client.animate_responses(audio, "phonetic", text=text)
                if r.WhichOneof("kind") == "status"]
    assert len(statuses) == 1
    return statuses[0].message


def test_wrong_transcript_over_the_daemon_ends_with_the_warning_and_the_client_raises_it(daemon: Daemon) -> None:
    with Client(daemon.address, timeout=120) as client:
        message = _final_status(client, SPEECH, WRONG)
        lines = message.split("\n")
        assert lines[0] == "done" and len(lines) == 2 and lines[1].startswith(f"warning: {NOT_FIT}"), message
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            clip = client.animate(SPEECH, "phonetic", text=WRONG, seed=2)
    mine = [w for w in caught if issubclass(w.category, UserWarning)]
    raised = [str(w.message) for w in mine]
    assert len(raised) == 1 and raised[0].startswith(NOT_FIT), raised
    assert clip.metadata["warnings"] == raised
    assert mine[0].filename == __file__  # pointed at the caller's line, not the client's
    local = facecast.animate(SPEECH, animator="phonetic", seed=2)  # the fallback: as without a transcript
    np.testing.assert_allclose(clip.values, local.values, atol=1e-6)


def test_fitting_transcript_over_the_daemon_gives_no_warning(daemon: Daemon, tts_wav: Path) -> None:
    with Client(daemon.address, timeout=120) as client:
        assert _final_status(client, tts_wav, SENTENCE) == "done"
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            clip = client.animate(tts_wav, "phonetic", text=SENTENCE)
    assert not [w for w in caught if issubclass(w.category, UserWarning)]
    assert "warnings" not in clip.metadata and clip.num_frames > 0


def test_done_message_is_bounded_one_line_warnings() -> None:
    assert wire.done_message() == "done" and wire.status_warnings("done") == []
    many = ["first\nwarning", "first  warning", "x" * 1000, *(f"w{i}" for i in range(10))]
    message = wire.done_message(many)
    got = wire.status_warnings(message)
    assert got[0] == "first warning" and len(got) == wire.MAX_WARNINGS  # one line each, duplicates once
    assert len(got[1]) == wire.WARNING_CHARS and got[1].endswith("…")
    assert message.count("\n") == wire.MAX_WARNINGS and wire.status_warnings("cancelled by the client") == []


def test_blender_job_hands_the_warning_to_the_bake(daemon: Daemon) -> None:
    import sys

    sys.path.insert(0, str(ROOT / "plugins" / "blender"))
    from facecast_blender.jobs import animate_job

    with warnings.catch_warnings():  # the client's re-raised copy, on the job's thread, need not be printed
        warnings.simplefilter("ignore")
        message = animate_job(daemon.address, None, SPEECH.read_bytes(), "phonetic", 30, Controls(), WRONG,
                              "en").start().wait(timeout=120)
    assert message.kind == "done", message.text
    assert len(message.warnings) == 1 and message.warnings[0].startswith(NOT_FIT), message.warnings
    assert message.result.metadata["warnings"] == list(message.warnings)
