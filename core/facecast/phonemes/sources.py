"""One entry point for phone timings of real audio: forced alignment when a transcript is given, phone
recognition otherwise (or when the transcript does not fit the audio)."""

from __future__ import annotations

import numpy as np

from facecast.errors import InvalidInput
from facecast.phonemes import Phone
from facecast.phonemes.align import align
from facecast.phonemes.recognize import recognize


def phones_for(samples: np.ndarray, text: str | None = None, language: str = "en") -> tuple[list[Phone], str]:
    """Phones of 16 kHz ``samples`` and how they were found (``"alignment"``, ``"recognition"``, or
    ``"recognition (transcript did not align)"``)."""
    if text and text.strip():
        try:
            return align(samples, text, language), "alignment"
        except InvalidInput as e:
            if "no words" in str(e):
                raise
            return recognize(samples), "recognition (transcript did not align)"
    return recognize(samples), "recognition"
