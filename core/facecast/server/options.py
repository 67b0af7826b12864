"""The animation options a request may set (animator-dependent transcript and language, fps), checked once for
every kind of call."""

from __future__ import annotations

from typing import Any

from facecast import wire
from facecast.animators.base import Animator
from facecast.errors import InvalidInput
from facecast.server.config import ServerConfig


def animation_options(animator: Animator, fps: int, text: str, language: str,
                      config: ServerConfig) -> tuple[int, dict[str, Any]]:
    """The request's fps and the keyword options for ``animator.stream`` / ``clip_session``."""
    fps = wire.fps_from_request(fps)
    if not (text or language):
        return fps, {}
    if not animator.accepts_text:
        raise InvalidInput(f"the {animator.name} animator does not take a transcript or language")
    if len(text) > config.max_text_chars:
        raise InvalidInput(f"the transcript holds {len(text)} characters; the limit is {config.max_text_chars}")
    return fps, {"text": text or None, "language": language or None}
