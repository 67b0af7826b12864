"""The English acoustic model, CMU dictionary and phone language model that the ``pocketsphinx`` wheel ships,
loaded once per process. Decoders are not thread-safe, so each use holds the decoder's lock."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from types import ModuleType
from typing import Any

import numpy as np

from facecast.media import float_to_pcm16
from facecast.phonemes import EngineUnavailable

FRAME_RATE = 100  # pocketsphinx analyses 10 ms frames
SAMPLE_RATE = 16_000
# pieces of 2 s: pocketsphinx updates its running mean once more than 300 frames (3 s) follow the last setting
PIECE_S = 2.0
_PIECE_BYTES = 2 * int(PIECE_S * SAMPLE_RATE)  # of 16-bit pcm


def _module() -> ModuleType:  # pocketsphinx, imported late so that facecast runs without it
    try:
        import pocketsphinx
    except ImportError:
        raise EngineUnavailable("pocketsphinx is not installed (pip install 'pocketsphinx>=5,<6')") from None
    return pocketsphinx


class LockedDecoder:
    """A pocketsphinx decoder with the lock that every caller must hold (through :meth:`fresh`)."""

    def __init__(self, **config: object) -> None:
        ps = _module()
        self.lock = threading.Lock()
        self.decoder = ps.Decoder(samprate=SAMPLE_RATE, loglevel="FATAL", **config)

    @contextmanager
    def fresh(self) -> Iterator[Any]:
        """Hold the lock, with the decoder's feature extraction reset: pocketsphinx carries its noise estimate
        and cepstral mean over from the previous utterance, which would make the same audio decode differently
        depending on what came before."""
        with self.lock:
            self.decoder.reinit_feat()
            yield self.decoder


@lru_cache(maxsize=1)
def alignment_decoder() -> LockedDecoder:
    """A decoder with the English acoustic model and CMU dictionary, for forced alignment. The beams are wide:
    with the default ones, alignment of unusual voices (synthetic ones included) often finds no path."""
    return LockedDecoder(beam=1e-80, pbeam=1e-80, wbeam=1e-60)


@lru_cache(maxsize=1)
def phone_decoder() -> LockedDecoder:
    """A decoder in allphone mode with the shipped English phone language model, for phone recognition. The
    language model weight is low (0.5, fitted on the corpus's training voices): the phone bigrams are a weak
    guide, and trusting the acoustics more finds more of the phones, /p b m/ above all."""
    ps = _module()
    return LockedDecoder(allphone=ps.get_model_path("en-us/en-us-phone.lm.bin"), lm=None, lw=0.5,
                         beam=1e-20, pbeam=1e-20)


@lru_cache(maxsize=1)
def mean_decoder() -> LockedDecoder:
    """A phone decoder whose search prunes almost everything, for measuring an utterance's cepstral mean in a
    pass without search (:func:`facecast.phonemes.recognize.utterance_mean`): same acoustic model and features
    as :func:`phone_decoder`, next to no search cost when the utterance ends."""
    ps = _module()
    return LockedDecoder(allphone=ps.get_model_path("en-us/en-us-phone.lm.bin"), lm=None, beam=0.1, pbeam=0.1)


def utterance_mean(pcm: bytes) -> str:
    """The whole utterance's cepstral mean of 16-bit ``pcm``, as pocketsphinx writes it (``get_cmn``)."""
    with mean_decoder().fresh() as decoder:
        decoder.start_utt()
        decoder.process_raw(pcm, no_search=True, full_utt=True)
        mean = str(decoder.get_cmn(False))
        decoder.end_utt()  # searches with a beam so narrow that it costs next to nothing
    return mean


def feed(decoder: Any, pcm: bytes, mean: str | None, heard: Callable[[float], None] | None = None) -> None:
    """Decode one utterance of 16-bit ``pcm`` (``decoder`` held through :meth:`LockedDecoder.fresh`): in one
    call when ``mean`` is None; else in :data:`PIECE_S` pieces with the cepstral mean pinned to ``mean`` (the
    whole utterance's, :func:`utterance_mean`) before each, calling ``heard(seconds decoded)`` after each piece
    but the last. Why pieces: pocketsphinx holds the interpreter lock for the whole of each call, so nothing
    could report progress during one; with the mean pinned the features stay those of the one call."""
    decoder.start_utt()
    if mean is None:
        decoder.process_raw(pcm, full_utt=True)
    else:
        for start in range(0, len(pcm), _PIECE_BYTES):
            decoder.set_cmn(mean)
            decoder.process_raw(pcm[start:start + _PIECE_BYTES], full_utt=False)
            if heard and start + _PIECE_BYTES < len(pcm):
                heard((start + _PIECE_BYTES) / 2 / SAMPLE_RATE)
        decoder.set_cmn(mean)
    decoder.end_utt()


def pinned_mean(pcm: bytes) -> str | None:
    """The mean :func:`feed` pins for ``pcm``: None (one call) when it is no longer than one piece."""
    return utterance_mean(pcm) if len(pcm) > _PIECE_BYTES else None


def to_pcm16(samples: np.ndarray) -> bytes:
    """16 kHz float samples as the little-endian int16 bytes pocketsphinx decodes."""
    return float_to_pcm16(samples).tobytes()
