"""The facecast daemon: a grpc.aio server that holds sessions, batches work per model and validates requests.

Logic lives in plain modules: :mod:`.live` (the pump every live call shares), :mod:`.stream` and :mod:`.clips`
(the native calls), :mod:`.a2f` (the Audio2Face-3D calls), :mod:`.clipwork` (whole clips in worker processes),
:mod:`.scheduler`, :mod:`.sessions`, :mod:`.capacity`, :mod:`.metrics`; :mod:`.state` is what they share,
:mod:`.calls` maps errors to statuses, :mod:`.intake` and :mod:`.security` are the interceptors every call passes
first. The servicers are thin.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ServerConfig", "run_server", "start_server"]


def __getattr__(name: str) -> Any:
    """The public names load on first use, so importing one part of the server (``facecast.server.a2f``, the
    config) does not import all of it."""
    if name in ("run_server", "start_server"):
        from facecast.server import app

        return getattr(app, name)
    if name == "ServerConfig":
        from facecast.server.config import ServerConfig

        return ServerConfig
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
