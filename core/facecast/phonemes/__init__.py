"""Phonemes with timings, from wherever they can be had, and the viseme table that turns them into mouth shapes.

A :class:`Phone` is one ARPAbet phone (stress removed; ``SIL`` for pauses) with start and end in seconds. Three
sources give them (see :mod:`facecast.phonemes.sources`): a TTS engine that reports its own timings, forced
alignment of a transcript to real audio, and phone recognition from audio alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from facecast.errors import FacecastError


class EngineUnavailable(FacecastError):
    """A speech engine (espeak-ng, flite, festival, pocketsphinx) is not installed; the message says which."""


@dataclass(frozen=True)
class Phone:
    """One phone: an ARPAbet symbol (``"AA"`` … ``"ZH"``, or ``"SIL"``) from ``start`` to ``end`` seconds."""

    symbol: str
    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def center(self) -> float:
        return 0.5 * (self.start + self.end)


def merge_silences(phones: list[Phone], min_gap: float = 0.0) -> list[Phone]:
    """Sorted phones with adjacent ``SIL`` merged and gaps longer than ``min_gap`` filled with ``SIL``."""
    out: list[Phone] = []
    for phone in sorted(phones, key=lambda p: p.start):
        if out and phone.start - out[-1].end > min_gap:
            out.append(Phone("SIL", out[-1].end, phone.start))
        if out and phone.symbol == "SIL" and out[-1].symbol == "SIL":
            out[-1] = Phone("SIL", out[-1].start, max(out[-1].end, phone.end))
        else:
            out.append(phone)
    return out


__all__ = ["EngineUnavailable", "Phone", "merge_silences"]
