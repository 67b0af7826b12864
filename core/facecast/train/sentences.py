"""Sentences for the synthetic corpus: phonetically balanced Harvard sentences (public domain, IEEE 1969),
templates filled with words of the CMU dictionary that pocketsphinx ships, and pseudo-words for the voices of
other languages (their own spelling rules turn them into that language's phones)."""

from __future__ import annotations

import os
from functools import lru_cache

import numpy as np

HARVARD = (
    "The birch canoe slid on the smooth planks.", "Glue the sheet to the dark blue background.",
    "It's easy to tell the depth of a well.", "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.", "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.", "The hogs were fed chopped corn and garbage.",
    "Four hours of steady work faced us.", "A large size in stockings is hard to sell.",
    "The boy was there when the sun rose.", "A rod is used to catch pink salmon.",
    "The source of the huge river is the clear spring.", "Kick the ball straight and follow through.",
    "Help the woman get back to her feet.", "A pot of tea helps to pass the evening.",
    "Smoky fires lack flame and heat.", "The soft cushion broke the man's fall.",
    "The salt breeze came across from the sea.", "The girl at the booth sold fifty bonds.",
)
TEMPLATES = (
    "{} {} {} {}.", "Please say {} and {} again.", "The {} was {} by the {}.", "Why did {} bring the {}?",
    "{} {}, {} {} {}.", "My {} is {}, but your {} is {}.", "We put {} {} on the {} {}.",
)
SYLLABLE_ONSETS = ("", "b", "p", "m", "f", "v", "t", "d", "n", "l", "s", "k", "g", "r", "ch", "sh", "w", "pl", "br")
SYLLABLE_VOWELS = ("a", "e", "i", "o", "u", "ai", "au")


@lru_cache(maxsize=1)
def dictionary_words() -> tuple[str, ...]:
    """Plain words (letters only, 2-10 long) of the CMU dictionary shipped with pocketsphinx."""
    import pocketsphinx

    path = os.path.join(pocketsphinx.get_model_path(), "en-us", "cmudict-en-us.dict")
    words = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            word = line.split(" ", 1)[0]
            if word.isalpha() and 2 <= len(word) <= 10:
                words.append(word)
    return tuple(words)


def english_sentence(rng: np.random.Generator) -> str:
    """A Harvard sentence (one time in four) or a template filled with dictionary words."""
    if rng.random() < 0.25:
        return HARVARD[rng.integers(len(HARVARD))]
    words = dictionary_words()
    template = TEMPLATES[rng.integers(len(TEMPLATES))]
    return template.format(*(words[rng.integers(len(words))] for _ in range(template.count("{}"))))


def pseudo_sentence(rng: np.random.Generator) -> str:
    """Four to nine pseudo-words of one to three syllables, pronounceable in most Latin-script languages."""
    def syllable() -> str:
        return SYLLABLE_ONSETS[rng.integers(len(SYLLABLE_ONSETS))] + SYLLABLE_VOWELS[rng.integers(len(SYLLABLE_VOWELS))]

    def word() -> str:
        return "".join(syllable() for _ in range(rng.integers(1, 4)))
    return " ".join(word() for _ in range(rng.integers(4, 10))).capitalize() + "."
