"""What the add-on holds while Blender runs and never saves: the daemon info, the local daemon, live sessions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .daemon import LocalDaemon


@dataclass
class Runtime:
    info: dict[str, Any] | None = None  # GetInfo of the connected daemon, None when not connected
    address: str = ""
    status: str = "Not connected"
    local_daemon: LocalDaemon | None = None
    portrait_status: str = ""  # the talking-portrait bake's state
    live_status: str = ""  # the last live preview's state ("running", "finished", why it stopped)
    busy: bool = False  # a bake or a connect is running
    progress: float = 0.0  # 0..1 of the running bake, shown in the panel

    def status_line(self) -> str:
        """``connected · facecast 0.1.0 · CPU`` style summary for the panel."""
        if not self.info:
            return self.status
        providers = [p.removesuffix("ExecutionProvider") for p in self.info.get("providers", [])]
        return f"Connected · facecast {self.info.get('version', '?')} · {', '.join(providers) or 'no providers'}"

    def animators(self) -> list[str]:
        return [a["name"] for a in (self.info or {}).get("animators", [])]


RUNTIME = Runtime()


def shutdown() -> None:
    """Stop the local daemon this session started and forget the connection (on unregister)."""
    if RUNTIME.local_daemon is not None:
        RUNTIME.local_daemon.stop()
        RUNTIME.local_daemon = None
    RUNTIME.info = None
    RUNTIME.status = "Not connected"
