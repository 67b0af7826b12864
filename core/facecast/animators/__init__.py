"""Animators turn speech into motion. Each is registered here by name and loaded on first use."""

from __future__ import annotations

import importlib
from typing import Any

from facecast.animators.base import Animator, StreamingSession
from facecast.errors import InvalidInput, quoted

__all__ = ["Animator", "StreamingSession", "DEFAULT_ANIMATOR", "DEFAULT_LIVE_ANIMATOR", "get_animator",
           "animator_names", "animator_module", "describe_animator"]

_REGISTRY: dict[str, str] = {
    "energy": "facecast.animators.energy:EnergyAnimator",
    "phonetic": "facecast.animators.phonetic:PhoneticAnimator",
    "neural": "facecast.animators.neural:NeuralAnimator",
    "neural-fast": "facecast.animators.neural:NeuralFastAnimator",  # the model alone: clips as fast as streams
}
# The learned ``neural`` animator for both (docs/NEURAL.md, "Results"). Whole clips get its face with its JawOpen
# fused with the phonetic recogniser's, which follows the real mouth better than either alone on the
# leave-one-source-out folds and the yardstick videos. Live streams get the model alone (100 ms lookahead): it
# follows the mouth better than ``energy`` on the folds and the yardstick, with a face that moves (52 of 52 shapes
# against 19), and its streams share model calls. (At the sixth stop streams went back to ``energy`` for a while:
# the daemon refused new streams after a single late window; it now needs two in a row, server/capacity.py.)
DEFAULT_ANIMATOR = "neural"
DEFAULT_LIVE_ANIMATOR = "neural"
_loaded: dict[str, Animator] = {}


def animator_names() -> list[str]:
    return list(_REGISTRY)


def animator_module(name: str) -> str:
    """The module that implements animator ``name`` (importing it tells whether it can run here)."""
    if name not in _REGISTRY:
        raise InvalidInput(f"unknown animator {name!r}; available: {', '.join(_REGISTRY)}")
    return _REGISTRY[name].split(":")[0]


def get_animator(name: str | None = None, live: bool = False) -> Animator:
    """The animator called ``name``, loaded once and shared. Without a name: :data:`DEFAULT_LIVE_ANIMATOR` for
    real-time streams (``live``), else :data:`DEFAULT_ANIMATOR`."""
    name = name or (DEFAULT_LIVE_ANIMATOR if live else DEFAULT_ANIMATOR)
    if name not in _REGISTRY:
        raise InvalidInput(f"unknown animator {quoted(name)}; available: {', '.join(_REGISTRY)}")
    if name not in _loaded:
        module, cls = _REGISTRY[name].split(":")
        _loaded[name] = getattr(importlib.import_module(module), cls)()
    return _loaded[name]


def describe_animator(name: str) -> dict[str, Any]:
    """What :meth:`Animator.describe` says of ``name``, read from its class when it is not loaded yet, so that
    listing the animators builds none of them (no model is loaded)."""
    if name not in _REGISTRY:
        raise InvalidInput(f"unknown animator {name!r}; available: {', '.join(_REGISTRY)}")
    if name in _loaded:
        return _loaded[name].describe()
    module, cls = _REGISTRY[name].split(":")
    animator_class = getattr(importlib.import_module(module), cls)
    return {key: getattr(animator_class, key) for key in ("name", "version", "description", "lookahead_ms",
                                                           "accepts_text")}
