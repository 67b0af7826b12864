"""The animator configurations that ``facecast eval`` and the benchmarks compare, and held-out item loading."""

from __future__ import annotations

import os

from facecast.audio import MODEL_RATE, Audio
from facecast.errors import InvalidInput
from facecast.train.corpus import CorpusItem, load_item, load_manifest
from facecast.train.evaluate import AnimateFn


def heldout_items(corpus_dir: str | os.PathLike[str], limit: int) -> list[CorpusItem]:
    """The first ``limit`` items of the corpus spoken by held-out voices."""
    entries = [e for e in load_manifest(corpus_dir)["items"] if e["split"] == "heldout"][:limit]
    if not entries:
        raise InvalidInput(f"{corpus_dir} has no items from held-out voices; build a larger corpus")
    return [load_item(corpus_dir, e) for e in entries]


def animate_functions() -> dict[str, AnimateFn]:
    """Name -> animate(item, controls): energy, and phonetic with each source of phones (recognition from the
    audio, alignment of the item's text, and the exact TTS phones, which reproduces the teacher)."""
    from facecast.animators import get_animator

    energy, phonetic = get_animator("energy"), get_animator("phonetic")

    def audio_of(item: CorpusItem) -> Audio:
        return Audio(item.audio, MODEL_RATE)

    return {
        "energy": lambda item, controls: energy.animate(audio_of(item), controls),
        "phonetic-recognition": lambda item, controls: phonetic.animate(audio_of(item), controls),
        "phonetic-alignment": lambda item, controls: phonetic.animate(
            audio_of(item), controls, text=item.info["text"], language=item.info["language"]),
        "phonetic-given": lambda item, controls: phonetic.animate(audio_of(item), controls, phones=item.phones),
    }
