"""The phonetic animator: viseme table, phone sources (espeak-ng timings, pocketsphinx alignment and
recognition), coarticulation guarantees, prosody, determinism and streaming."""

from __future__ import annotations

import numpy as np
import pytest

from facecast.animators import get_animator
from facecast.animators.coarticulation import articulator_tracks
from facecast.animators.prosody import yin_pitch
from facecast.audio import MODEL_RATE, Audio, load_audio, resample
from facecast.controls import Controls
from facecast.errors import InvalidInput
from facecast.motion import CHANNEL_INDEX as C
from facecast.phonemes import Phone, espeak
from facecast.phonemes.inventory import ARPABET, BILABIALS, PHONES, arpabet, ipa_to_arpabet
from facecast.phonemes.visemes import PHONE_TO_VISEME, VISEMES
from facecast.train.evaluate import bilabial_closure, blink_count, boundary_errors, lip_aperture, lipsync_r

if not espeak.available():
    pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)", allow_module_level=True)
pocketsphinx = pytest.importorskip("pocketsphinx", reason="pocketsphinx is not installed (pip install pocketsphinx)")

SENTENCE = "Bob may buy a map, but maybe Tom will move the boat."


def tts_audio(text: str = SENTENCE, voice: str = "en-us+m3") -> tuple[Audio, list[Phone]]:
    spoken = espeak.speak(text, voice)
    return Audio(resample(spoken.samples.astype(np.float32), spoken.sample_rate, MODEL_RATE), MODEL_RATE), spoken.phones


def test_viseme_table_covers_every_phone():
    assert set(PHONE_TO_VISEME) == set(PHONES)
    assert set(PHONE_TO_VISEME.values()) <= set(VISEMES)
    assert {PHONE_TO_VISEME[p] for p in "PBM"} == {"PP"}


@pytest.mark.parametrize(("ipa", "expected"), [
    ("ˈaɪ", "AY"), ("ɑː", "AA"), ("ʃ", "SH"), ("yː", "UW"), ("øː", "OW"), ("ç", "HH"), ("ʁ", "R"), ("pf", "F"),
    ("tɕʰ", "CH"), ("ɑ̃", "AA"), ("ts", "S"), ("m̩", "M"), ("", None),
])
def test_ipa_maps_to_arpabet(ipa, expected):
    assert ipa_to_arpabet(ipa) == expected


def test_arpabet_normalises_stress_and_festival_names():
    assert arpabet("AH0") == "AH" and arpabet("ax") == "AH" and arpabet("pau") == "SIL" and arpabet("+SPN+") == "SIL"
    assert all(arpabet(p.lower()) == p for p in ARPABET)


def test_espeak_reports_phones_that_tile_the_audio():
    spoken = espeak.speak("Maybe the map.", "en-us+f2")
    duration = len(spoken.samples) / spoken.sample_rate
    assert spoken.phones[0].start == 0.0 and spoken.phones[-1].end == pytest.approx(duration)
    assert all(a.end == pytest.approx(b.start) for a, b in zip(spoken.phones, spoken.phones[1:]))
    assert [p.symbol for p in spoken.phones if p.symbol != "SIL"][:4] == ["M", "EY", "B", "IY"]


def test_espeak_phonemizes_german():
    words = espeak.phonemize("Schöne Grüße", "de")
    assert [w for w, _ in words] == ["Schöne", "Grüße"]
    assert [ipa_to_arpabet(s) for s in words[0][1]][:2] == ["SH", "OW"]


def test_unknown_voice_is_a_clear_error():
    with pytest.raises(InvalidInput, match="no voice"):
        espeak.speak("hello", "xx-nonexistent")


def test_bilabials_close_the_lips_even_when_shorter_than_a_frame():
    phones = [Phone("SIL", 0, 0.2), Phone("AA", 0.2, 0.4), Phone("P", 0.4, 0.41), Phone("AA", 0.41, 0.6),
              Phone("M", 0.6, 0.62), Phone("IY", 0.62, 0.8), Phone("B", 0.8, 0.815), Phone("AW", 0.815, 1.0)]
    audio = Audio(np.random.default_rng(0).normal(0, 0.05, MODEL_RATE).astype(np.float32), MODEL_RATE)
    for fps in (24, 30, 60):
        clip = get_animator("phonetic").animate(audio, Controls(), fps, phones=phones)
        assert bilabial_closure(clip.values, phones, fps) == (3, 3)
        assert clip.curve("JawOpen").max() > 0.3  # the vowels open the mouth


def test_bilabial_closure_on_tts_speech_with_exact_timings():
    audio, phones = tts_audio()
    clip = get_animator("phonetic").animate(audio, Controls(), 30, phones=phones)
    closed, total = bilabial_closure(clip.values, phones, 30)
    assert total >= 10 and closed == total


def _covered(phones: list[Phone], bilabials: list[Phone], slack: float = 0.035) -> int:
    """How many of ``bilabials`` a bilabial of ``phones`` overlaps (within ``slack`` seconds)."""
    return sum(any(q.symbol in BILABIALS and q.start < b.end + slack and q.end > b.start - slack for q in phones)
               for b in bilabials)


def test_closure_detector_finds_the_lip_closures_of_tts_speech():
    from facecast.phonemes.closures import closure_probability, find_dips
    from facecast.phonemes.recognize import recognize
    from facecast.phonemes.sources import heard_phones

    with_dips = recognised = completed = total = 0
    at_bilabials, elsewhere = [], []
    for voice in ("en-us+m3", "en+f2", "en-us+f4"):
        audio, exact = tts_audio(SENTENCE, voice)
        bilabials = [p for p in exact if p.symbol in BILABIALS]
        heard = recognize(audio.samples)
        dips = find_dips(audio.samples, heard)
        for dip, p in zip(dips, closure_probability(np.stack([d.features for d in dips]))):
            at = any(b.start - 0.03 < dip.time < b.end + 0.03 for b in bilabials)
            (at_bilabials if at else elsewhere).append(p)
        total += len(bilabials)
        with_dips += sum(any(b.start - 0.03 < d.time < b.end + 0.03 for d in dips) for b in bilabials)
        recognised += _covered(heard, bilabials)
        completed += _covered(heard_phones(audio.samples), bilabials)
    assert with_dips >= 0.8 * total  # a /p b m/ is an energy dip
    assert np.mean(at_bilabials) > np.mean(elsewhere)  # and the model tells them from the other dips
    assert completed >= recognised + 3  # the detector finds closures the recogniser missed


def test_aligned_bilabials_snap_to_the_closure_and_widen():
    from facecast.phonemes.closures import UNCERTAIN_CLOSURE_S, snap_closures, widen_bilabials

    audio, exact = tts_audio()
    bilabials = [p for p in exact if p.symbol in BILABIALS]
    late = [Phone(p.symbol, p.start + 0.06, p.end + 0.06) if p.symbol in BILABIALS else p for p in exact]
    assert _covered(snap_closures(audio.samples, late), bilabials, 0.0) > _covered(late, bilabials, 0.0)
    wide = widen_bilabials(exact)
    half = UNCERTAIN_CLOSURE_S / 2 - 1e-6
    for b in bilabials:  # shut from 50 ms before the middle to 50 ms after it
        for t in (max(b.center - half, 0.0), b.center + half):
            assert any(p.symbol in BILABIALS and p.start <= t < p.end for p in wide)
    assert all(a.end == pytest.approx(b.start) for a, b in zip(wide, wide[1:]))  # still a tiling
    assert wide[0].start == exact[0].start and wide[-1].end == pytest.approx(exact[-1].end)


def test_words_the_aligner_left_out_are_aligned_to_the_end():
    from facecast.phonemes.align import align_words, pronunciations
    from facecast.phonemes.sources import _complete_the_end

    audio, _ = tts_audio()
    words = pronunciations(SENTENCE)
    aligned = align_words(audio.samples, words)
    last_word = len(words[-1][1])
    spoken = [p for p in aligned if p.symbol != "SIL"]
    cut = [p for p in aligned if p.end <= spoken[-last_word - 1].end]  # as if "boat" had been aligned to silence
    completed = _complete_the_end(audio.samples, cut, words)
    tail = [p.symbol for p in completed if p.start >= cut[-1].end and p.symbol != "SIL"]
    assert tail == words[-1][1]


def test_jaw_follows_vowel_height_and_rounding_spreads():
    times = np.array([0.1, 0.3, 0.5])
    tracks = articulator_tracks([Phone("AA", 0.0, 0.2), Phone("IY", 0.2, 0.4), Phone("UW", 0.4, 0.6)], times, 30)
    assert tracks[0, 0] > tracks[1, 0] > tracks[2, 0]  # open, close front, close rounded
    # /s/ between two /uw/ is rounded by its neighbours; between two /iy/ it is not
    def s_between(vowel: str) -> np.ndarray:
        phones = [Phone(vowel, 0, 0.2), Phone("S", 0.2, 0.3), Phone(vowel, 0.3, 0.5)]
        return articulator_tracks(phones, np.array([0.27]), 30)

    rounded, spread = s_between("UW"), s_between("IY")
    assert rounded[0, 2] > 0.3 > spread[0, 2]


def test_mouth_anticipates_the_next_vowel():
    phones = [Phone("SIL", 0, 1.0), Phone("AA", 1.0, 1.3)]
    tracks = articulator_tracks(phones, np.array([0.85, 0.93, 0.97]), 30)
    assert 0 < tracks[0, 0] < tracks[1, 0] < tracks[2, 0]


def test_same_seed_same_motion_other_seed_other_blinks():
    audio, phones = tts_audio()
    animator = get_animator("phonetic")
    a = animator.animate(audio, Controls(seed=3), phones=phones)
    b = animator.animate(audio, Controls(seed=3), phones=phones)
    c = animator.animate(audio, Controls(seed=4), phones=phones)
    np.testing.assert_array_equal(a.values, b.values)
    assert not np.array_equal(a.values[:, C["EyeBlinkLeft"]], c.values[:, C["EyeBlinkLeft"]]) or \
        not np.array_equal(a.values[:, C["HeadYaw"]], c.values[:, C["HeadYaw"]])


def test_streaming_with_given_phones_equals_offline():
    audio, phones = tts_audio()
    animator = get_animator("phonetic")
    offline = animator.animate(audio, Controls(seed=1), 30, phones=phones)
    session = animator.stream(Controls(seed=1), 30, phones=phones)
    frames = []
    for start in range(0, len(audio.samples), 700):
        frames += session.push(audio.samples[start:start + 700])
    frames += session.flush()
    assert [f.index for f in frames] == list(range(offline.num_frames))
    np.testing.assert_allclose(np.stack([f.values for f in frames]), offline.values, atol=1e-5)


def test_streaming_recognition_stays_close_to_offline(assets):
    audio = load_audio(assets / "speech_en.wav")
    animator = get_animator("phonetic")
    offline = animator.animate(audio, Controls(seed=2))
    session = animator.stream(Controls(seed=2))
    frames = []
    for start in range(0, len(audio.samples), 1600):  # 100 ms chunks, as a live client sends them
        frames += session.push(audio.samples[start:start + 1600])
        latest_time = (start + 1600) / MODEL_RATE
        if frames:  # never further behind than the declared lookahead
            assert frames[-1].time >= latest_time - animator.lookahead_ms / 1000 - 2 / 30
    frames += session.flush()
    streamed = np.stack([f.values for f in frames])
    jaw_s, jaw_o = streamed[:, C["JawOpen"]], offline.curve("JawOpen")
    assert len(frames) == offline.num_frames
    assert np.mean(np.abs(jaw_s - jaw_o)) < 0.06 and np.corrcoef(jaw_s, jaw_o)[0, 1] > 0.7


def test_forced_alignment_places_tts_phones_within_tens_of_ms():
    from facecast.phonemes.align import align

    audio, exact = tts_audio()
    aligned = align(audio.samples, SENTENCE)
    errors = boundary_errors(exact, aligned)
    assert len(errors) >= 0.6 * sum(p.symbol != "SIL" for p in exact)
    assert np.mean(errors) < 0.05


def test_alignment_of_german_uses_espeak_pronunciations():
    from facecast.phonemes.align import align, pronunciations

    text = "Guten Morgen, wie geht es Ihnen heute?"
    assert pronunciations("Guten Morgen", "de")[1] == ("morgen", ["M", "AO", "D", "G", "AH", "N"])  # espeak: tapped r
    audio, exact = tts_audio(text, "de")
    errors = boundary_errors(exact, align(audio.samples, text, "de"))
    assert len(errors) >= 10 and np.mean(errors) < 0.06


def test_transcript_that_does_not_fit_falls_back_to_recognition():
    audio, _ = tts_audio("Maybe.")
    clip = get_animator("phonetic").animate(
        audio, Controls(), text="the quick brown fox jumps over the lazy dog again and again and again")
    assert clip.metadata["phone_source"].startswith("recognition")


def test_empty_transcript_is_a_clear_error():
    audio, _ = tts_audio("Maybe.")
    with pytest.raises(InvalidInput, match="no words"):
        get_animator("phonetic").animate(audio, Controls(), text=" ,. ")


def test_recognition_on_real_speech_gives_plausible_phones(assets):
    from facecast.phonemes.recognize import recognize

    audio = load_audio(assets / "speech_en.wav")
    phones = recognize(audio.samples)
    speech = [p for p in phones if p.symbol != "SIL"]
    rate = len(speech) / sum(p.duration for p in speech)
    assert 5 < rate < 25  # people say about 10-15 phones per second
    assert all(a.end <= b.start + 1e-9 for a, b in zip(phones, phones[1:]))
    assert phones[-1].end <= audio.duration + 0.02
    vowels = {"AA", "AE", "AH", "EH", "IH", "IY", "AO", "OW", "UW", "ER", "EY", "AY"}
    assert sum(p.symbol in vowels for p in speech) >= 5


@pytest.mark.slow
def test_real_speech_with_and_without_text_in_two_languages(assets):
    animator = get_animator("phonetic")
    for path, options in ((assets / "speech_en.wav", {}), (assets / "speech_de.wav", {"language": "de"})):
        audio = load_audio(path)
        clip = animator.animate(audio, Controls(), **options)
        jaw = clip.curve("JawOpen")
        assert clip.num_frames == int(np.ceil(audio.duration * 30 - 1e-9))
        assert jaw.max() > 0.3 and (lip_aperture(clip.values) < 0.06).mean() > 0.05  # opens and closes
        assert blink_count(clip.values) >= 1


def test_registered_and_accepts_text():
    animator = get_animator("phonetic")
    assert animator.accepts_text and animator.describe()["lookahead_ms"] == animator.lookahead_ms > 0


def test_yin_finds_the_pitch_of_harmonic_tones():
    t = np.arange(640) / MODEL_RATE
    tones = np.stack([np.sin(2 * np.pi * f * t) + 0.4 * np.sin(4 * np.pi * f * t) for f in (95, 180, 310)])
    noise = np.random.default_rng(0).normal(size=(1, 640))
    f0 = yin_pitch(np.concatenate([tones, noise]))
    np.testing.assert_allclose(f0[:3], [95, 180, 310], rtol=0.03)
    assert f0[3] == 0


def test_lipsync_r_finds_the_lag():
    mouth = np.sin(np.arange(200) / 4.0) + np.random.default_rng(1).normal(0, 0.1, 200)
    jaw = np.roll(mouth, 2)  # prediction two frames late
    r0, best, lag = lipsync_r(jaw, mouth)
    assert lag == 2 and best > 0.95 > r0


def test_long_streams_keep_a_bounded_audio_buffer():
    audio, _ = tts_audio()
    session = get_animator("phonetic").stream(Controls())
    for _ in range(6):  # about 20 s of speech in 100 ms chunks
        for start in range(0, len(audio.samples), 1600):
            session.push(audio.samples[start:start + 1600])
    assert len(session._buffer) < 2.5 * MODEL_RATE  # block + context + one window, not the whole stream


def test_controls_update_mid_stream():
    audio, phones = tts_audio()
    session = get_animator("phonetic").stream(Controls(), 30, phones=phones)
    half = len(audio.samples) // 2
    before = session.push(audio.samples[:half])
    session.update_controls(Controls(emotion="happy", emotion_intensity=1.0))
    after = session.push(audio.samples[half:]) + session.flush()
    smile = C["MouthSmileLeft"]
    assert max(f.values[smile] for f in before) < 0.2 < min(f.values[smile] for f in after)


def test_same_audio_gives_the_same_take_whatever_was_animated_before(assets):
    import facecast

    first = facecast.animate(assets / "speech_en.wav", animator="phonetic")
    facecast.animate(assets / "speech_de.wav", animator="phonetic")  # leaves its noise estimate in the decoder
    again = facecast.animate(assets / "speech_en.wav", animator="phonetic")
    np.testing.assert_array_equal(first.values, again.values)
    assert first.metadata["phones"] == again.metadata["phones"]
