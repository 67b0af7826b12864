"""The facecast daemon: a grpc.aio server that holds sessions, batches work per model and validates requests.

Logic lives in plain classes (:mod:`.sessions`, :mod:`.scheduler`, :mod:`.avatars`, :mod:`facecast.wire`);
the servicer is thin.
"""

from facecast.server.app import ServerConfig, run_server, start_server

__all__ = ["ServerConfig", "run_server", "start_server"]
