"""The facecast daemon: a grpc.aio server that holds sessions, batches work per model and validates requests.

Logic lives in plain modules: :mod:`.live` (the pump every live call shares), :mod:`.stream` and :mod:`.clips`
(the native calls), :mod:`.a2f` (the Audio2Face-3D calls), :mod:`.clipwork` (whole clips in worker processes),
:mod:`.scheduler`, :mod:`.sessions`, :mod:`.capacity`, :mod:`.metrics`; :mod:`.state` is what they share and
:mod:`.calls` maps errors to statuses. The servicers are thin.
"""

from facecast.server.app import run_server, start_server
from facecast.server.config import ServerConfig

__all__ = ["ServerConfig", "run_server", "start_server"]
