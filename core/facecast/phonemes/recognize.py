"""Phone recognition from audio alone: pocketsphinx in allphone mode with the English phone language model
shipped in its wheel. On other languages it still finds the English phones nearest to what is said, which
gives usable visemes (mouth shapes depend on the articulation, not on the language).

A clip longer than :data:`~facecast.phonemes.pocketsphinx_model.PIECE_S` is fed to the decoder in pieces of
that length, so that a caller can show progress (:func:`~facecast.phonemes.pocketsphinx_model.feed`:
pocketsphinx holds the interpreter lock for the whole of each call). The whole utterance's cepstral mean is
pinned before each piece, so the phones stay those of the one-call recognition except the utterance's last
40 ms, which the piecewise front end leaves out (docs/NEURAL.md, "Progress of whole clips": on 20 real clips the
phones agree up to the last one or two, within the last 0.1 s).
"""

from __future__ import annotations

import numpy as np

from facecast.motion import ProgressCallback
from facecast.phonemes import Phone, merge_silences
from facecast.phonemes.inventory import SILENCE, arpabet
from facecast.phonemes.pocketsphinx_model import (
    FRAME_RATE,
    SAMPLE_RATE,
    feed,
    phone_decoder,
    pinned_mean,
    to_pcm16,
)

DITHER = 0.0015  # RMS of the faint noise added to the speech (about -56 dBFS)


def recognize(samples: np.ndarray, offset: float = 0.0, progress: ProgressCallback | None = None) -> list[Phone]:
    """Phones heard in 16 kHz ``samples``, with times shifted by ``offset`` seconds; ``progress(seconds heard,
    seconds in all)`` after each piece. Faint noise (fixed seed) is added first: on clean or digitally silent
    stretches the acoustic model's features degenerate (see :mod:`facecast.phonemes.align`), and with it a third
    more /p b m/ are recognised on the corpus."""
    if len(samples) < SAMPLE_RATE // 20:  # shorter than 50 ms: nothing to hear
        return [Phone(SILENCE, offset, offset + len(samples) / SAMPLE_RATE)] if len(samples) else []
    noise = np.random.default_rng(0).normal(0, DITHER, len(samples))
    pcm = to_pcm16(np.asarray(samples, np.float32) + noise)
    seconds = len(samples) / SAMPLE_RATE
    with phone_decoder().fresh() as decoder:
        feed(decoder, pcm, pinned_mean(pcm), (lambda done: progress(done, seconds)) if progress else None)
        segments = [(s.word, s.start_frame, s.end_frame) for s in decoder.seg()]
    if progress:
        progress(seconds, seconds)
    phones = []
    for word, first, last in segments:
        symbol = arpabet(word) or SILENCE
        phones.append(Phone(symbol, offset + first / FRAME_RATE, offset + (last + 1) / FRAME_RATE))
    return merge_silences(phones)

