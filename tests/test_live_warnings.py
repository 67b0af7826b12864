"""A live Stream's warnings reach its client as an Animate's do: a transcript that does not fit the audio falls
back to the audio alone, and the stream's final Status says so (``done`` then ``warning: TEXT``), which the
Python client re-raises as a ``UserWarning`` and keeps in ``LiveStream.warnings``."""

from __future__ import annotations

import warnings
from pathlib import Path

from facecast.audio import load_audio
from facecast.client import Client, stream_file_chunks

from daemon import Daemon

SPEECH = Path(__file__).resolve().parents[1] / "assets" / "speech_en.wav"
WRONG = "What the speaker says."  # unrelated to the shipped clip (as in test_wrong_transcript.py)
NOT_FIT = "the transcript does not fit the audio"


def speak(client: Client, text: str | None) -> tuple[object, list[str]]:
    audio = load_audio(SPEECH)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        live = client.stream(sample_rate=audio.sample_rate, animator="phonetic", text=text)
        for chunk in stream_file_chunks(audio.samples, audio.sample_rate, chunk_ms=200):
            live.send(chunk)
        live.end()
        frames = list(live.frames())
    assert len(frames) >= int(audio.duration * 30)
    return live, [str(w.message) for w in caught if issubclass(w.category, UserWarning)]


def test_a_live_stream_whose_transcript_does_not_fit_ends_with_the_warning_and_the_client_raises_it():
    daemon = Daemon()
    try:
        with Client(daemon.address, timeout=120) as client:
            live, raised = speak(client, WRONG)
            assert live.status.message.startswith(f"done\nwarning: {NOT_FIT}"), live.status.message
            assert len(live.warnings) == 1 and live.warnings[0].startswith(NOT_FIT)
            assert raised == live.warnings
            plain, raised = speak(client, None)  # no transcript: nothing to warn about
            assert plain.status.message == "done" and plain.warnings == [] and raised == []
    finally:
        daemon.stop()
