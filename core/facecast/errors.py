"""The errors facecast raises on purpose. Each message names the problem so a user can fix it."""


class FacecastError(Exception):
    """Base class of every error facecast raises on purpose."""


class InvalidInput(FacecastError, ValueError):
    """The input (audio, controls, a file, a request) is unusable; the message says why."""


class AudioError(InvalidInput):
    """Audio that cannot be decoded or used: empty, silent, too long, wrong rate, corrupt."""


MAX_QUOTED = 64  # characters of a client's value that an error message repeats


def quoted(value: object, limit: int = MAX_QUOTED) -> str:
    """``repr(value)`` for an error message, cut to about ``limit`` characters so a message never echoes
    unbounded input."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


class ConfigError(FacecastError):
    """A setting given at start-up (a flag, a file, an environment variable) cannot be used; the message says
    which and why."""
