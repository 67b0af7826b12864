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
from facecast.phonemes import Phone, espeak, merge_silences
from facecast.phonemes.inventory import SILENCE, arpabet, ipa_to_arpabet
from facecast.phonemes.languages import check_language
from facecast.phonemes.pocketsphinx_model import FRAME_RATE, SAMPLE_RATE, alignment_decoder, to_pcm16

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
ENGLISH = ("en", "en-us", "en-gb")
PAD_S = 0.3
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


def align_words(samples: np.ndarray, words: list[tuple[str, list[str]]]) -> list[Phone]:
    """Phones of ``words`` (see :func:`pronunciations`) aligned to 16 kHz ``samples``. pocketsphinx may leave
    the last words out (it aligns them to silence), so fewer phones than the words have can come back."""
    if not words:
        raise InvalidInput("no word of the transcript could be turned into phones")
    for dither in DITHERS:
        alignment = _try_alignment(samples, words, dither)
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


def _try_alignment(samples: np.ndarray, words: list[tuple[str, list[str]]],
                   dither: float) -> list[tuple[str, int, int]] | None:
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
    with alignment_decoder().fresh() as decoder:
        tokens = []
        for _, phones in words:
            # One dictionary entry per pronunciation: the same spelling may sound different in another language.
            token = "pron_" + "_".join(phones).lower()
            if decoder.lookup_word(token) is None:
                decoder.add_word(token, " ".join(phones), False)  # set_align_text builds the search anyway
            tokens.append(token)
        try:
            alignment = _two_pass_alignment(decoder, " ".join(tokens), pcm)
            return [(e.name, e.start, e.duration) for word in alignment or [] for e in word]
        except RuntimeError:
            alignment_decoder.cache_clear()  # a failed search can leave the decoder unusable: start afresh
            return None


def _two_pass_alignment(decoder: Any, text: str, pcm: bytes) -> Any:  # a pocketsphinx.Decoder
    """Pass 1 places the words, pass 2 (after ``set_alignment``) the phones; raises RuntimeError on failure."""
    decoder.set_align_text(text)
    for first_pass in (True, False):
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        if first_pass:
            decoder.set_alignment()
    return decoder.get_alignment()
