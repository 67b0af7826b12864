"""Warnings raised while the daemon animates a clip reach the caller (issue 17, Blender item 3): a transcript that
does not fit the audio falls back to the audio alone, and the final Status says so (``done`` then one
``warning: TEXT`` line each, docs/DAEMON.md); the Python client re-raises it as a ``UserWarning`` and keeps it in
``metadata["warnings"]``; the Blender job hands it to the bake operator, which reports it as a WARNING."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import facecast
from facecast import wire
from facecast.audio import MODEL_RATE, resample
from facecast.client import Client
from facecast.controls import Controls
from facecast.phonemes import espeak

from daemon import Daemon

ROOT = Path(__file__).resolve().parents[1]
SPEECH = ROOT / "assets" / "speech_en.wav"
WRONG = "What the speaker says."  # unrelated to the shipped clip (as in test_wrong_transcript.py)
SENTENCE = "Please bring me the blue book from the kitchen table."
NOT_FIT = "the transcript does not fit the audio"


@pytest.fixture(scope="module")
def tts_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SENTENCE spoken by espeak-ng, as a wav file: a transcript that fits."""
    spoken = espeak.speak(SENTENCE, "en-us+f2")
    path = tmp_path_factory.mktemp("tts") / "sentence.wav"
    sf.write(path, resample(spoken.samples.astype(np.float32), spoken.sample_rate, MODEL_RATE), MODEL_RATE)
    return path


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
    raised = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert len(raised) == 1 and raised[0].startswith(NOT_FIT), raised
    assert clip.metadata["warnings"] == raised
    assert caught[0].filename == __file__  # pointed at the caller's line, not the client's
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
    sys.path.insert(0, str(ROOT / "plugins" / "blender"))
    from facecast_blender.jobs import animate_job

    with warnings.catch_warnings(record=True):  # the client's re-raised copy, on the job's thread
        warnings.simplefilter("ignore")
        message = animate_job(daemon.address, None, SPEECH.read_bytes(), "phonetic", 30, Controls(), WRONG,
                              "en").start().wait(timeout=120)
    assert message.kind == "done", message.text
    assert len(message.warnings) == 1 and message.warnings[0].startswith(NOT_FIT), message.warnings
    assert message.result.metadata["warnings"] == list(message.warnings)
