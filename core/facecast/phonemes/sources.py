"""One entry point for phone timings of real audio: forced alignment when a transcript is given, phone
recognition otherwise (or when the transcript does not fit the audio). Both are completed by the acoustic
evidence of lip closure (:mod:`facecast.phonemes.closures`)."""

from __future__ import annotations

import warnings

import numpy as np

from facecast.audio import MODEL_RATE as RATE
from facecast.errors import InvalidInput
from facecast.motion import ProgressCallback, progress_span
from facecast.phonemes import Phone
from facecast.phonemes.align import MIN_FIT, align_words, alignment_fit, pronunciations
from facecast.phonemes.closures import add_likely_closures, snap_closures, widen_bilabials
from facecast.phonemes.inventory import SILENCE
from facecast.phonemes.recognize import recognize

MIN_TAIL_S = 0.1  # an unaligned end shorter than this is left silent
# With a transcript, the alignment's share of the time before the recognition that checks its fit: 1.46 s of
# 3.0 s on 30 s of GRID speech (both passes fed in pieces), measured on the 2-core box.
ALIGN_SHARE = 0.5


def heard_phones(samples: np.ndarray, offset: float = 0.0, progress: ProgressCallback | None = None) -> list[Phone]:
    """Recognised phones of 16 kHz ``samples`` (times shifted by ``offset`` s), with bilabials added where the
    audio shows a likely lip closure; ``progress`` as :func:`recognize` reports it."""
    return widen_bilabials(add_likely_closures(samples, recognize(samples, offset, progress), offset))


def phones_for(samples: np.ndarray, text: str | None = None, language: str = "en",
               progress: ProgressCallback | None = None) -> tuple[list[Phone], str]:
    """Phones of 16 kHz ``samples`` and how they were found (``"alignment"``, ``"recognition"``, or
    ``"recognition (transcript did not align)"`` / ``"recognition (transcript does not fit: 0.18)"`` with a
    warning, when the aligned transcript does not fit what is heard, see :func:`alignment_fit`).
    ``progress(seconds heard, seconds in all)`` follows the recognition; with a transcript the alignment's two
    passes fill the first :data:`ALIGN_SHARE` of the seconds and the recognition that checks its fit the rest."""
    if not (text and text.strip()):
        return heard_phones(samples, progress=progress), "recognition"
    words = pronunciations(text, language)  # no words at all is the caller's error: let it raise
    then = progress_span(progress, ALIGN_SHARE, 1 - ALIGN_SHARE)  # what the recognition after the alignment reports
    try:
        aligned = align_words(samples, words, progress_span(progress, 0.0, ALIGN_SHARE))
    except InvalidInput:
        return heard_phones(samples, progress=then), "recognition (transcript did not align)"
    completed = _complete_the_end(samples, aligned, words)
    fit = alignment_fit(samples, completed, recognize(samples, progress=then))
    if fit < MIN_FIT:
        warnings.warn(f"the transcript does not fit the audio (only {fit:.0%} of it agrees with what is heard); "
                      "animating from the audio alone", UserWarning, stacklevel=2)
        return heard_phones(samples), f"recognition (transcript does not fit: {fit:.2f})"
    return widen_bilabials(snap_closures(samples, completed)), "alignment"


def _complete_the_end(samples: np.ndarray, phones: list[Phone],
                      words: list[tuple[str, list[str]]]) -> list[Phone]:
    """pocketsphinx sometimes leaves the last words out (aligned to silence): align them to the audio after the
    last aligned phone, or recognise that audio when they do not fit, rather than leave the mouth at rest."""
    spoken = [p for p in phones if p.symbol != SILENCE]
    end = spoken[-1].end if spoken else 0.0
    counts = np.cumsum([len(w) for _, w in words])
    rest = words[int(np.searchsorted(counts, len(spoken), side="right")):]
    if not rest or len(samples) / RATE - end < MIN_TAIL_S:
        return phones
    tail = samples[int(end * RATE):]
    try:
        completed = [Phone(p.symbol, p.start + end, p.end + end) for p in align_words(tail, rest)]
    except InvalidInput:
        completed = heard_phones(tail, offset=end)
    return [p for p in phones if p.end <= end] + completed
