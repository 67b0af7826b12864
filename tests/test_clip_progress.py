"""Whole clips that recognise phones before their first frame (``phonetic``, ``neural`` fused with it) report
progress while they listen (issue 15): pocketsphinx is fed in pieces with the utterance's cepstral mean pinned,
so it hears what one call over the whole clip hears, and the CLI's bar moves through "hearing phones" to the
frames. The default ``neural`` clip hears the speech through Whisper's encoder first ("hearing speech")."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from terminal import assert_ok, run_in_terminal

from facecast.animators import get_animator
from facecast.audio import load_audio
from facecast.phonemes import Phone, merge_silences
from facecast.phonemes.inventory import SILENCE, arpabet
from facecast.phonemes.pocketsphinx_model import PIECE_S
from facecast.phonemes.recognize import DITHER, recognize

from conftest import ASSETS, speech_file

pytest.importorskip("pocketsphinx", reason="phone recognition needs pocketsphinx")
SPEECH = ASSETS / "speech_en.wav"  # 8 s
TAIL_S = 0.1  # the piecewise front end leaves the utterance's last 40 ms out: its last phone may end otherwise


def _one_call(samples: np.ndarray) -> list[Phone]:
    """What recognition gave before it was fed in pieces: the whole clip in one ``full_utt`` call."""
    from facecast.phonemes.pocketsphinx_model import FRAME_RATE, phone_decoder, to_pcm16

    noise = np.random.default_rng(0).normal(0, DITHER, len(samples))
    with phone_decoder().fresh() as decoder:
        decoder.start_utt()
        decoder.process_raw(to_pcm16(samples + noise), full_utt=True)
        decoder.end_utt()
        segments = [(s.word, s.start_frame, s.end_frame) for s in decoder.seg()]
    return merge_silences([Phone(arpabet(w) or SILENCE, a / FRAME_RATE, (b + 1) / FRAME_RATE)
                           for w, a, b in segments])


class Heard:
    """A progress callback with ``stage()``: every ``(done, total)`` and stage name, in order, in ``events``."""

    def __init__(self) -> None:
        self.events: list[object] = []

    def __call__(self, done: float, total: float) -> None:
        self.events.append((done, total))

    def stage(self, name: str) -> None:
        self.events.append(name)


@pytest.mark.parametrize("path", sorted({SPEECH, speech_file()}), ids=lambda p: p.name)
def test_recognition_in_pieces_hears_what_one_call_over_the_clip_hears(path) -> None:
    samples = load_audio(path).samples
    assert len(samples) / 16_000 > 2 * PIECE_S
    heard: list[float] = []
    pieces = recognize(samples, progress=lambda done, total: heard.append(done))
    whole = _one_call(samples)
    end = len(samples) / 16_000 - TAIL_S
    assert [p for p in pieces if p.end < end] == [p for p in whole if p.end < end]
    assert len(heard) >= 3 and heard == sorted(heard) and heard[-1] == pytest.approx(len(samples) / 16_000)
    short = samples[:int(PIECE_S * 16_000)]  # one piece: one call, exactly as before
    assert recognize(short) == _one_call(short)


def _animator(name: str):
    if name == "neural+phonetic":
        from facecast.animators.neural import NeuralAnimator

        return NeuralAnimator(model=get_animator("neural").model, fuse_phonetic=True)
    return get_animator(name)


@pytest.mark.parametrize("name", ["neural+phonetic", "phonetic"])
def test_fused_and_phonetic_clips_report_progress_while_hearing_phones(name) -> None:
    audio = load_audio(SPEECH)
    progress = Heard()
    events = progress.events
    animator = _animator(name)
    clip = animator.animate(audio, None, 30, progress=progress)
    assert [e for e in events if isinstance(e, str)] == ["hearing phones", "frames"]
    done = [e[0] for e in events if isinstance(e, tuple)]
    before_frames = done[:events.index("frames") - 1]
    assert len([d for d in before_frames if 0 < d < audio.duration]) >= 3  # it moved while listening
    assert done == sorted(done) and done[-1] == pytest.approx(audio.duration)
    plain: list[float] = []  # a plain callable gets the same rising figures
    again = animator.animate(audio, None, 30, progress=lambda d, t: plain.append(d))
    assert plain == done and np.array_equal(again.values, clip.values)


def test_the_default_clip_hears_the_speech_then_makes_its_frames() -> None:
    audio = load_audio(SPEECH)
    progress = Heard()
    clip = get_animator("neural").animate(audio, None, 30, progress=progress)
    events = progress.events
    assert [e for e in events if isinstance(e, str)] == ["hearing speech", "frames"]
    done = [e[0] for e in events if isinstance(e, tuple)]
    assert done == sorted(done) and done[-1] == pytest.approx(audio.duration)
    assert "Whisper" in clip.metadata["jaw"]


def test_the_cli_bar_moves_while_a_clip_hears_its_phones(tmp_path) -> None:
    output = assert_ok(run_in_terminal("animate", str(SPEECH), "-o", "take.csv", "--animator", "phonetic",
                                       cwd=tmp_path))
    listening = [int(p) for p in re.findall(r"animating \(hearing phones\):\s+(\d+)%", output)]
    assert [p for p in listening if 0 < p < 90], output  # intermediate values, not 0 % then 100 %
    assert "animating (frames): 100%" in output and "wrote take.csv" in output


def test_json_progress_names_the_stages_and_rises(tmp_path) -> None:
    output = assert_ok(run_in_terminal("animate", str(SPEECH), "-o", "take.csv", "--progress", "json",
                                       "--animator", "phonetic", cwd=tmp_path))
    events = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert all(e["progress"] == "animating" for e in events)
    stages = [e.get("stage") for e in events]
    assert stages.index("hearing phones") < stages.index("frames")
    listening = [e["done"] for e in events if e.get("stage") == "hearing phones"]
    assert len([d for d in listening if 0 < d < 8.0]) >= 3 and listening == sorted(listening)
    assert events[-1]["finished"] is True and events[-1]["done"] == pytest.approx(8.0, abs=0.05)


def test_the_daemons_animate_reports_progress_while_a_clip_hears_its_phones(daemon) -> None:
    from facecast.client import Client

    with Client(daemon.address, timeout=60) as client:
        responses = list(client.animate_responses(SPEECH, "phonetic"))
        kinds = [r.WhichOneof("kind") for r in responses]
        at = [k for k, r in enumerate(responses) if kinds[k] == "event" and r.event.name == "progress"]
        heard = [responses[k].event for k in at]
        # after the header (which says how long the clip is), before the first frame, rising to the whole clip
        assert kinds[0] == "header" and at and max(at) < kinds.index("frames")
        assert {e.detail for e in heard} == {"hearing phones"}
        times = [e.time_code for e in heard]
        assert len([t for t in times if 0 < t < 8.0]) >= 3 and times == sorted(times)
        assert times[-1] == pytest.approx(responses[0].header.total_frames / 30, abs=0.05)
        progress = Heard()
        events = progress.events
        clip = client.animate(SPEECH, "phonetic", progress=progress)
        assert [e for e in events if isinstance(e, str)] == ["hearing phones", "frames"]
        done = [e[0] for e in events if isinstance(e, tuple)]
        total = events[1][1]  # type: ignore[index]
        listening = done[:events.index("frames") - 1]
        assert len([d for d in listening if 0 < d < total]) >= 3 and done == sorted(done)
        assert done[-1] == pytest.approx(total) and len(clip.values) == total
        fast = [r.WhichOneof("kind") for r in client.animate_responses(SPEECH, "neural-fast")]
        assert "event" not in fast  # nothing to hear first: frames only


def test_the_cli_bar_moves_while_the_daemon_hears_a_clips_phones(daemon, tmp_path) -> None:
    output = assert_ok(run_in_terminal("animate", str(SPEECH), "-o", "take.csv", "--server", daemon.address,
                                       "--animator", "phonetic", cwd=tmp_path))
    listening = [int(p) for p in re.findall(r"animating \(hearing phones\):\s+(\d+)%", output)]
    assert [p for p in listening if 0 < p < 90], output  # intermediate values, not 0 % then 100 %
    assert "animating (frames): 100%" in output and "wrote take.csv" in output


def _grid_sentences(root, count: int) -> tuple[np.ndarray, str]:
    """``count`` GRID s1 sentences back to back (real speech) and their words, from the word alignments."""
    from facecast.audio import resample

    sounds, words = [], []
    for path in sorted((root / "train" / "grid_s1").glob("*.mp4"))[200:200 + count]:
        sound = load_audio(path)
        sounds.append(resample(sound.samples, sound.sample_rate, 16_000))
        lines = (root / "train" / "grid_s1_align" / f"{path.stem}.align").read_text().split("\n")
        words += [line.split()[2] for line in lines if line.strip() and line.split()[2] != "sil"]
    return np.concatenate(sounds).astype(np.float32), " ".join(words)


def _speech_with_words(kind: str, request) -> tuple[np.ndarray, str]:
    if kind == "grid":  # real speech: needs ../shared
        return _grid_sentences(request.getfixturevalue("shared_data"), 4)
    from facecast.audio import resample
    from facecast.phonemes import tts

    english = [v for v in tts.voices() if v.language == "en"]
    if not english:
        pytest.skip("no English TTS voice here (espeak-ng)")
    text = ("the quick brown fox jumps over the lazy dog, and my mother bought a pair of blue boots in may; "
            "please bring me a bowl of warm bread before the baby wakes")
    speech = tts.synthesize(english[0], text)
    return resample(speech.samples, speech.sample_rate, 16_000).astype(np.float32), text


@pytest.mark.parametrize("kind", ["tts", "grid"])
def test_alignment_in_pieces_places_the_phones_one_call_places_and_reports_progress(kind, request, monkeypatch):
    from facecast.phonemes import align as alignment
    from facecast.phonemes.sources import ALIGN_SHARE, phones_for

    samples, text = _speech_with_words(kind, request)
    seconds = len(samples) / 16_000
    assert seconds > 2 * PIECE_S
    words = alignment.pronunciations(text)
    heard: list[float] = []
    pieces = alignment.align_words(samples, words, lambda done, total: heard.append(done))
    with monkeypatch.context() as m:  # what alignment gave before it was fed in pieces: one call per pass
        m.setattr(alignment, "pinned_mean", lambda pcm: None)
        whole = alignment.align_words(samples, words)
    assert pieces == whole and len(pieces) > 20
    assert len([d for d in heard if 0 < d < seconds]) >= 4 and heard == sorted(heard)
    # the bar through the alignment, then the recognition that checks its fit
    rising: list[float] = []
    phones, source = phones_for(samples, text, progress=lambda done, total: rising.append(done / total))
    assert source == "alignment" and rising == sorted(rising) and rising[-1] == pytest.approx(1.0)
    assert [r for r in rising if 0 < r < ALIGN_SHARE] and [r for r in rising if ALIGN_SHARE < r < 1]
