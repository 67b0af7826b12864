"""Forced alignment: the phones of a known transcript, placed in time on real audio by pocketsphinx.

English words come from the CMU dictionary that pocketsphinx ships; words it lacks, and every word of another
language, are spelled out by espeak-ng's rules for that language and mapped to ARPAbet, so the English
acoustic model aligns them approximately (good enough for visemes, which is all we need).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from facecast.errors import InvalidInput
from facecast.motion import ProgressCallback
from facecast.phonemes import Phone, espeak, merge_silences
from facecast.phonemes.inventory import SILENCE, VOWELS, arpabet, ipa_to_arpabet
from facecast.phonemes.languages import ENGLISH, check_language
from facecast.phonemes.pocketsphinx_model import (
    FRAME_RATE,
    SAMPLE_RATE,
    alignment_decoder,
    feed,
    pinned_mean,
    to_pcm16,
)

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
PAD_S = 0.3
# How well an alignment fits: on real and synthetic speech with the right transcript (GRID, espeak voices in
# English and German) 0.74-0.92 of the audible 10 ms frames agree; with an unrelated transcript 0.13-0.58.
MIN_FIT = 0.65
FIT_HOP_S = 0.01
DITHERS = (0.003, 0.0015, 0.006)  # noise levels tried in turn (about -50, -56, -44 dBFS)


def words_of(text: str) -> list[str]:
    """The words of a transcript, lower case, punctuation dropped."""
    return [w.lower().replace("’", "'") for w in _WORD.findall(text)]


def pronunciations(text: str, language: str = "en") -> list[tuple[str, list[str]]]:
    """Each word of ``text`` with its ARPAbet phones: the CMU dictionary for English, espeak-ng otherwise."""
    language = check_language(language)
    words = words_of(text)
    if not words:
        raise InvalidInput("the transcript has no words to align")
    decoder = alignment_decoder()
    result: list[tuple[str, list[str]]] = []
    missing: list[int] = []
    for word in words:
        known = decoder.decoder.lookup_word(word) if language in ENGLISH else None
        result.append((word, known.split() if known else []))
        if not known:
            missing.append(len(result) - 1)
    if missing:
        voice = "en-us" if language in ENGLISH else language
        spelled = espeak.phonemize(" ".join(words[i] for i in missing), voice)
        for index, (_, ipa) in zip(missing, spelled):
            phones = [p for p in (ipa_to_arpabet(s) for s in ipa) if p and p != SILENCE]
            result[index] = (result[index][0], phones)
    return [(word, phones) for word, phones in result if phones]


def align(samples: np.ndarray, text: str, language: str = "en") -> list[Phone]:
    """Phones of ``text`` aligned to 16 kHz ``samples``; raises :class:`InvalidInput` when they do not fit."""
    return align_words(samples, pronunciations(text, language))


def align_words(samples: np.ndarray, words: list[tuple[str, list[str]]],
                progress: ProgressCallback | None = None) -> list[Phone]:
    """Phones of ``words`` (see :func:`pronunciations`) aligned to 16 kHz ``samples``. pocketsphinx may leave
    the last words out (it aligns them to silence), so fewer phones than the words have can come back.
    ``progress(seconds, seconds in all)`` rises through both passes of the first attempt (a retry with other
    noise, which few clips need, reports nothing more)."""
    if not words:
        raise InvalidInput("no word of the transcript could be turned into phones")
    for k, dither in enumerate(DITHERS):
        alignment = _try_alignment(samples, words, dither, progress if k == 0 else None)
        if alignment is not None:
            break
    else:
        raise InvalidInput("the transcript could not be aligned to the audio (does it match?)")
    phones = [Phone(arpabet(name) or SILENCE, first / FRAME_RATE - PAD_S, (first + count) / FRAME_RATE - PAD_S)
              for name, first, count in alignment]
    if not any(p.symbol != SILENCE for p in phones):
        raise InvalidInput("the transcript could not be aligned to the audio (does it match?)")
    duration = len(samples) / SAMPLE_RATE
    inside = [Phone(p.symbol, max(p.start, 0.0), min(p.end, duration)) for p in phones]
    return merge_silences([p for p in inside if p.end > p.start])


def _classes(phones: list[Phone], frames: int) -> np.ndarray:
    """Per 10 ms frame: 0 silence, 1 vowel, 2 consonant."""
    out = np.zeros(frames, np.int8)
    for p in phones:
        kind = 0 if p.symbol == SILENCE else (1 if p.symbol in VOWELS else 2)
        out[int(p.start / FIT_HOP_S):int(np.ceil(p.end / FIT_HOP_S))] = kind
    return out


def alignment_fit(samples: np.ndarray, aligned: list[Phone], heard: list[Phone]) -> float:
    """How well an alignment fits its audio, 0..1: the share of audible 10 ms frames (within 35 dB of the
    loudest) where the aligned phone and the recognised one (``heard``) are of the same kind (silence, vowel,
    consonant). A transcript of other words places silence where she speaks and vowels where she does not."""
    hop = int(FIT_HOP_S * SAMPLE_RATE)
    frames = len(samples) // hop
    if frames == 0:
        return 1.0
    rms = np.sqrt(np.mean(np.asarray(samples[:frames * hop], np.float64).reshape(frames, hop) ** 2, axis=1))
    level = 20 * np.log10(rms + 1e-9)
    audible = level > level.max() - 35
    agree = _classes(aligned, frames) == _classes(heard, frames)
    return float(agree[audible].mean())


def _try_alignment(samples: np.ndarray, words: list[tuple[str, list[str]]], dither: float,
                   progress: ProgressCallback | None = None) -> list[tuple[str, int, int]] | None:
    """One alignment attempt with noise of ``dither`` (RMS) on the speech: (phone, first frame, frames) per
    phone, or ``None`` when no path was found.

    Silence around the speech gives the aligner's <sil> somewhere to go: without it, speech that starts or ends
    abruptly (TTS, trimmed clips) often finds no path. Faint noise on the speech (fixed seed) matters too:
    clean synthetic speech makes the acoustic model's features degenerate, and alignment then fails on about
    half of clean TTS sentences; where one noise level finds no path, another often does.
    """
    pad = np.zeros(int(PAD_S * SAMPLE_RATE), np.float32)
    noise = np.random.default_rng(0).normal(0, dither, len(samples)).astype(np.float32)
    pcm = to_pcm16(np.concatenate([pad, np.asarray(samples, np.float32) + noise, pad]))
    mean = pinned_mean(pcm)
    with alignment_decoder().fresh() as decoder:
        tokens = []
        for _, phones in words:
            # One dictionary entry per pronunciation: the same spelling may sound different in another language.
            token = "pron_" + "_".join(phones).lower()
            if decoder.lookup_word(token) is None:
                decoder.add_word(token, " ".join(phones), False)  # set_align_text builds the search anyway
            tokens.append(token)
        try:
            alignment = _two_pass_alignment(decoder, " ".join(tokens), pcm, mean, progress)
            return [(e.name, e.start, e.duration) for word in alignment or [] for e in word]
        except RuntimeError:
            alignment_decoder.cache_clear()  # a failed search can leave the decoder unusable: start afresh
            return None


def _two_pass_alignment(decoder: Any, text: str, pcm: bytes, mean: str | None,  # a pocketsphinx.Decoder
                        progress: ProgressCallback | None = None) -> Any:
    """Pass 1 places the words, pass 2 (after ``set_alignment``) the phones; raises RuntimeError on failure.
    Each pass is fed as :func:`~facecast.phonemes.pocketsphinx_model.feed` feeds it; ``progress`` counts the
    two passes as half of the audio each."""
    seconds = len(pcm) / 2 / SAMPLE_RATE
    decoder.set_align_text(text)
    for index in (0, 1):
        heard = (lambda done, at=index: progress((at * seconds + done) / 2, seconds)) if progress else None
        feed(decoder, pcm, mean, heard)
        if progress:
            progress((index + 1) * seconds / 2, seconds)
        if index == 0:
            decoder.set_alignment()
    return decoder.get_alignment()
