"""The viseme table: which mouth shape each phone asks for, and how strongly it insists on it.

Visemes are the 15 of the Oculus/Meta lip-sync set (``sil PP FF TH DD kk CH SS nn RR aa E I O U``). Each phone
maps to one viseme; each viseme is a target in a small articulatory space (jaw opening, lip closure, rounding,
funnel, spread, lower lip under the teeth, tongue), and vowels override the jaw with their own height, so the
jaw follows vowel height. Dominance (Cohen & Massaro's coarticulation model) says how strongly a phone holds
the jaw and the lips against its neighbours: bilabials and rounded vowels hold the lips hard, most consonants
hardly at all, so rounding spreads from a rounded vowel over the consonants around it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facecast.phonemes.inventory import ARPABET, PHONE_ID, PHONES, SILENCE

ARTICULATORS: tuple[str, ...] = ("jaw", "close", "round", "funnel", "spread", "lipbite", "tongue")
LIP_ARTICULATORS = ARTICULATORS[1:]  # everything but the jaw follows the lips' dominance

VISEMES: tuple[str, ...] = ("sil", "PP", "FF", "TH", "DD", "kk", "CH", "SS", "nn", "RR", "aa", "E", "I", "O", "U")


@dataclass(frozen=True)
class Viseme:
    """A mouth-shape target (articulators in [0, 1]) with the dominance of its jaw and its lips."""

    jaw: float = 0.0
    close: float = 0.0
    round: float = 0.0
    funnel: float = 0.0
    spread: float = 0.0
    lipbite: float = 0.0
    tongue: float = 0.0
    jaw_dominance: float = 0.5
    lip_dominance: float = 0.2

    def target(self) -> np.ndarray:
        return np.array([getattr(self, name) for name in ARTICULATORS], np.float32)


VISEME_SHAPES: dict[str, Viseme] = {
    "sil": Viseme(jaw_dominance=0.35, lip_dominance=0.35),
    "PP": Viseme(jaw=0.06, close=1.0, jaw_dominance=0.7, lip_dominance=1.0),
    "FF": Viseme(jaw=0.08, lipbite=1.0, jaw_dominance=0.7, lip_dominance=0.9),
    "TH": Viseme(jaw=0.14, tongue=0.6, jaw_dominance=0.6, lip_dominance=0.4),
    "DD": Viseme(jaw=0.14, jaw_dominance=0.45, lip_dominance=0.15),
    "kk": Viseme(jaw=0.2, jaw_dominance=0.35, lip_dominance=0.1),
    "CH": Viseme(jaw=0.1, round=0.45, funnel=0.6, jaw_dominance=0.7, lip_dominance=0.75),
    "SS": Viseme(jaw=0.05, spread=0.45, jaw_dominance=0.8, lip_dominance=0.45),
    "nn": Viseme(jaw=0.14, jaw_dominance=0.4, lip_dominance=0.12),
    "RR": Viseme(jaw=0.18, round=0.35, funnel=0.35, jaw_dominance=0.4, lip_dominance=0.5),
    "aa": Viseme(jaw=0.65, jaw_dominance=1.0, lip_dominance=0.5),
    "E": Viseme(jaw=0.4, spread=0.3, jaw_dominance=1.0, lip_dominance=0.5),
    "I": Viseme(jaw=0.18, spread=0.55, jaw_dominance=1.0, lip_dominance=0.6),
    "O": Viseme(jaw=0.42, round=0.55, funnel=0.45, jaw_dominance=1.0, lip_dominance=0.9),
    "U": Viseme(jaw=0.14, round=0.9, funnel=0.3, jaw_dominance=1.0, lip_dominance=1.0),
}

PHONE_TO_VISEME: dict[str, str] = {
    SILENCE: "sil",
    "P": "PP", "B": "PP", "M": "PP",
    "F": "FF", "V": "FF",
    "TH": "TH", "DH": "TH",
    "T": "DD", "D": "DD",
    "K": "kk", "G": "kk", "HH": "kk", "NG": "kk",
    "CH": "CH", "JH": "CH", "SH": "CH", "ZH": "CH",
    "S": "SS", "Z": "SS",
    "N": "nn", "L": "nn", "Y": "I",
    "R": "RR", "ER": "RR",
    "AA": "aa", "AE": "aa", "AH": "aa", "AY": "aa", "AW": "O",
    "EH": "E", "EY": "E",
    "IH": "I", "IY": "I",
    "AO": "O", "OW": "O", "OY": "O",
    "UH": "U", "UW": "U", "W": "U",
}  # fmt: skip

# Jaw opening per vowel (open vowels open the jaw, close vowels barely): overrides the viseme's jaw.
VOWEL_JAW_HEIGHT: dict[str, float] = {
    "AA": 0.8, "AE": 0.72, "AH": 0.58, "AO": 0.65, "AW": 0.68, "AY": 0.7, "EH": 0.52, "ER": 0.35, "EY": 0.45,
    "IH": 0.3, "IY": 0.2, "OW": 0.48, "OY": 0.56, "UH": 0.3, "UW": 0.16,
}  # fmt: skip
# /h/ takes the shape of whatever surrounds it.
WEAK_PHONES: dict[str, float] = {"HH": 0.1}
assert set(PHONE_TO_VISEME) == set(PHONES) and set(ARPABET) <= set(PHONE_TO_VISEME)


def _phone_table() -> tuple[np.ndarray, np.ndarray]:
    targets = np.zeros((len(PHONES), len(ARTICULATORS)), np.float32)
    dominance = np.zeros((len(PHONES), 2), np.float32)  # jaw, lips
    for phone, index in PHONE_ID.items():
        shape = VISEME_SHAPES[PHONE_TO_VISEME[phone]]
        targets[index] = shape.target()
        if phone in VOWEL_JAW_HEIGHT:
            targets[index, 0] = VOWEL_JAW_HEIGHT[phone]
        weak = WEAK_PHONES.get(phone, 1.0)
        dominance[index] = (shape.jaw_dominance * weak, shape.lip_dominance * weak)
    return targets, dominance


PHONE_TARGETS, PHONE_DOMINANCE = _phone_table()


def viseme_of(phone: str) -> str:
    """The viseme name for an ARPAbet phone (``"SIL"`` included)."""
    return PHONE_TO_VISEME[phone]
