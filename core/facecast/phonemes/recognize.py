"""Phone recognition from audio alone: pocketsphinx in allphone mode with the English phone language model
shipped in its wheel. On other languages it still finds the English phones nearest to what is said, which
gives usable visemes (mouth shapes depend on the articulation, not on the language)."""

from __future__ import annotations

import numpy as np

from facecast.phonemes import Phone, merge_silences
from facecast.phonemes.inventory import SILENCE, arpabet
from facecast.phonemes.pocketsphinx_model import FRAME_RATE, SAMPLE_RATE, phone_decoder, to_pcm16

DITHER = 0.0015  # RMS of the faint noise added to the speech (about -56 dBFS)


def recognize(samples: np.ndarray, offset: float = 0.0) -> list[Phone]:
    """Phones heard in 16 kHz ``samples``, with times shifted by ``offset`` seconds. Faint noise (fixed seed)
    is added first: on clean or digitally silent stretches the acoustic model's features degenerate (see
    :mod:`facecast.phonemes.align`), and with it a third more /p b m/ are recognised on the corpus."""
    if len(samples) < SAMPLE_RATE // 20:  # shorter than 50 ms: nothing to hear
        return [Phone(SILENCE, offset, offset + len(samples) / SAMPLE_RATE)] if len(samples) else []
    with phone_decoder().fresh() as decoder:
        decoder.start_utt()
        noise = np.random.default_rng(0).normal(0, DITHER, len(samples))
        decoder.process_raw(to_pcm16(np.asarray(samples, np.float32) + noise), full_utt=True)
        decoder.end_utt()
        segments = [(s.word, s.start_frame, s.end_frame) for s in decoder.seg()]
    phones = []
    for word, first, last in segments:
        symbol = arpabet(word) or SILENCE
        phones.append(Phone(symbol, offset + first / FRAME_RATE, offset + (last + 1) / FRAME_RATE))
    return merge_silences(phones)
