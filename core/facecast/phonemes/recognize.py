"""Phone recognition from audio alone: pocketsphinx in allphone mode with the English phone language model
shipped in its wheel. On other languages it still finds the English phones nearest to what is said, which
gives usable visemes (mouth shapes depend on the articulation, not on the language).

A clip longer than :data:`PIECE_S` is fed to the decoder in pieces of that length, so that a caller can show
progress (pocketsphinx holds the interpreter lock for the whole of each call). Fed in pieces, pocketsphinx
normalises the cepstra by a running mean instead of the whole utterance's; pinning that mean to the whole
utterance's (measured first by a cheap pass without search, :func:`utterance_mean`) before each piece keeps the
features and so the phones as the one-call recognition gives them, except the utterance's last 40 ms, which the
piecewise front end leaves out (docs/NEURAL.md, "Progress of whole clips": on 20 real clips the phones agree up
to the last one or two, within the last 0.1 s).
"""

from __future__ import annotations

import numpy as np

from facecast.motion import ProgressCallback
from facecast.phonemes import Phone, merge_silences
from facecast.phonemes.inventory import SILENCE, arpabet
from facecast.phonemes.pocketsphinx_model import FRAME_RATE, SAMPLE_RATE, mean_decoder, phone_decoder, to_pcm16

DITHER = 0.0015  # RMS of the faint noise added to the speech (about -56 dBFS)
# pieces of 2 s: pocketsphinx updates its running mean once more than 300 frames (3 s) follow the last setting
PIECE_S = 2.0


def recognize(samples: np.ndarray, offset: float = 0.0, progress: ProgressCallback | None = None) -> list[Phone]:
    """Phones heard in 16 kHz ``samples``, with times shifted by ``offset`` seconds; ``progress(seconds heard,
    seconds in all)`` after each piece. Faint noise (fixed seed) is added first: on clean or digitally silent
    stretches the acoustic model's features degenerate (see :mod:`facecast.phonemes.align`), and with it a third
    more /p b m/ are recognised on the corpus."""
    if len(samples) < SAMPLE_RATE // 20:  # shorter than 50 ms: nothing to hear
        return [Phone(SILENCE, offset, offset + len(samples) / SAMPLE_RATE)] if len(samples) else []
    noise = np.random.default_rng(0).normal(0, DITHER, len(samples))
    pcm = to_pcm16(np.asarray(samples, np.float32) + noise)
    piece = 2 * int(PIECE_S * SAMPLE_RATE)  # bytes
    mean = utterance_mean(pcm) if len(pcm) > piece else None
    seconds = len(samples) / SAMPLE_RATE
    with phone_decoder().fresh() as decoder:
        decoder.start_utt()
        if mean is None:
            decoder.process_raw(pcm, full_utt=True)
        else:
            for start in range(0, len(pcm), piece):
                decoder.set_cmn(mean)
                decoder.process_raw(pcm[start:start + piece], full_utt=False)
                if progress and start + piece < len(pcm):
                    progress((start + piece) / 2 / SAMPLE_RATE, seconds)
            decoder.set_cmn(mean)
        decoder.end_utt()
        segments = [(s.word, s.start_frame, s.end_frame) for s in decoder.seg()]
    if progress:
        progress(seconds, seconds)
    phones = []
    for word, first, last in segments:
        symbol = arpabet(word) or SILENCE
        phones.append(Phone(symbol, offset + first / FRAME_RATE, offset + (last + 1) / FRAME_RATE))
    return merge_silences(phones)


def utterance_mean(pcm: bytes) -> str:
    """The whole utterance's cepstral mean of 16-bit ``pcm``, as pocketsphinx writes it (``get_cmn``)."""
    with mean_decoder().fresh() as decoder:
        decoder.start_utt()
        decoder.process_raw(pcm, no_search=True, full_utt=True)
        mean = str(decoder.get_cmn(False))
        decoder.end_utt()  # searches with a beam so narrow that it costs next to nothing
    return mean
