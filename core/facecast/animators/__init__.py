"""Animators turn speech into motion. Each is registered here by name and loaded on first use."""

from __future__ import annotations

import importlib

from facecast.animators.base import Animator, StreamingSession
from facecast.errors import InvalidInput

__all__ = ["Animator", "StreamingSession", "DEFAULT_ANIMATOR", "get_animator", "animator_names"]

_REGISTRY: dict[str, str] = {
    "energy": "facecast.animators.energy:EnergyAnimator",
    "phonetic": "facecast.animators.phonetic:PhoneticAnimator",
}
DEFAULT_ANIMATOR = "energy"
_loaded: dict[str, Animator] = {}


def animator_names() -> list[str]:
    return list(_REGISTRY)


def get_animator(name: str | None = None) -> Animator:
    """The animator called ``name`` (default :data:`DEFAULT_ANIMATOR`), loaded once and shared."""
    name = name or DEFAULT_ANIMATOR
    if name not in _REGISTRY:
        raise InvalidInput(f"unknown animator {name!r}; available: {', '.join(_REGISTRY)}")
    if name not in _loaded:
        module, cls = _REGISTRY[name].split(":")
        _loaded[name] = getattr(importlib.import_module(module), cls)()
    return _loaded[name]
