"""The errors facecast raises on purpose. Each message names the problem so a user can fix it."""


class FacecastError(Exception):
    """Base class of every error facecast raises on purpose."""


class InvalidInput(FacecastError, ValueError):
    """The input (audio, controls, a file, a request) is unusable; the message says why."""


class AudioError(InvalidInput):
    """Audio that cannot be decoded or used: empty, silent, too long, wrong rate, corrupt."""
