"""facecast on a real Ray Serve instance, for tests and benchmarks: ``deploy/ray_serve/serve.yaml`` with a free
gRPC port and a temporary avatar folder, run in a process (and process group) of its own as ``serve run`` would
run it, but on a Ray node bound to 127.0.0.1 with no dashboard and no usage reporting.

``python tests/rayserve.py CONFIG.yaml RAY_TEMP_DIR`` is that process: it prints ``facecast ray serve on
127.0.0.1:PORT`` once every replica is up, and shuts Serve and Ray down on SIGTERM."""

from __future__ import annotations

import contextlib
import importlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "deploy" / "ray_serve" / "serve.yaml"
READY = "facecast ray serve on "
REPLICA_TITLE = "ray::ServeReplica:facecast:facecast"
ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled",  # loopback only; no token file in $HOME
       "RAY_SERVE_GRPC_MAX_MESSAGE_SIZE": str(64 * 2**20),  # as docs/DEPLOY.md says: the daemons' own limit
       "RAY_DEDUP_LOGS": "0", "PYTHONPATH": str(ROOT / "core")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RayServe:
    """The shipped Serve config on this machine; ``address`` is Serve's gRPC ingress: its Python proxy, or with
    ``haproxy`` the HAProxy that Ray ships (``RAY_SERVE_ENABLE_HA_PROXY=1``: it passes each call to a replica's
    own gRPC server), its files in this run's folder."""

    def __init__(self, avatar_dir: Path, timeout: float = 120.0, haproxy: bool = False, **args: object) -> None:
        config = yaml.safe_load(CONFIG.read_text())
        self.port = free_port()
        config["grpc_options"]["port"] = self.port
        config["http_options"]["port"] = free_port()
        config["applications"][0]["args"].update(avatar_dir=str(avatar_dir), **args)
        self.temp = Path(tempfile.mkdtemp(prefix="fcray", dir="/tmp"))  # Ray's socket paths must stay short
        path = self.temp / "serve.yaml"
        path.write_text(yaml.safe_dump(config))
        env = {**os.environ, **ENV}
        if haproxy:
            state = self.temp / "haproxy"
            env.update(RAY_SERVE_ENABLE_HA_PROXY="1", RAY_SERVE_HAPROXY_CONFIG_FILE_LOC=str(state / "haproxy.cfg"),
                       RAY_SERVE_HAPROXY_SOCKET_PATH=str(state / "admin.sock"),
                       RAY_SERVE_HAPROXY_SERVER_STATE_BASE=str(state),
                       RAY_SERVE_HAPROXY_SERVER_STATE_FILE=str(state / "server-state"),
                       RAY_SERVE_HAPROXY_METRICS_SOCKET_PATH=str(state / "metrics.sock"),
                       RAY_SERVE_HAPROXY_METRICS_PORT=str(free_port()), RAY_SERVE_HAPROXY_STATS_PORT=str(free_port()))
        self.process = subprocess.Popen(
            [sys.executable, __file__, str(path), str(self.temp / "ray")], stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT, start_new_session=True)
        self.log: list[str] = []
        self.address = f"127.0.0.1:{self.port}"
        deadline = time.monotonic() + timeout
        ready = threading.Event()
        threading.Thread(target=self._drain, args=(ready,), daemon=True).start()
        while not ready.wait(0.5):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("Ray Serve did not start:\n" + "".join(self.log[-40:]))

    def _drain(self, ready: threading.Event) -> None:
        for line in self.process.stdout:
            self.log.append(line)
            if line.startswith(READY):
                ready.set()

    def replica_pids(self) -> list[int]:
        """The processes of the facecast replicas this instance runs (found by their Ray process title)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    title = (entry / "cmdline").read_bytes().split(b"\0")[0].decode()
                    if title.startswith(REPLICA_TITLE) and self._ours(int(entry.name)):
                        pids.append(int(entry.name))
        return sorted(pids)

    def _ours(self, pid: int) -> bool:
        for _ in range(16):
            if pid == self.process.pid:
                return True
            try:
                pid = int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                return False
            if pid <= 1:
                return False
        return False

    def stop(self, timeout: float = 30.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)  # whatever Ray left behind in the group
        self.process.wait(10)
        shutil.rmtree(self.temp, ignore_errors=True)


def listening_ports(pid: int) -> list[int]:
    """The loopback TCP ports process ``pid`` listens on (from /proc: its socket inodes in LISTEN state)."""
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in (Path("/proc") / str(pid) / "fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
    ports = []
    loopback = ("0100007F:", "0000000000000000FFFF00000100007F:")  # grpc binds 127.0.0.1 as v4-mapped IPv6
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in (Path("/proc") / str(pid) / "net" / table).read_text().splitlines()[1:]:
                local, state, inode = line.split()[1], line.split()[3], line.split()[9]
                if state == "0A" and inode in inodes and local.startswith(loopback):
                    ports.append(int(local.split(":")[1], 16))
    return sorted(ports)


def main(config_path: str, temp_dir: str) -> None:
    import ray
    from ray import serve
    from ray.serve.config import gRPCOptions

    config = yaml.safe_load(Path(config_path).read_text())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", _temp_dir=temp_dir,
             namespace="serve", log_to_driver=True)
    try:
        serve.start(proxy_location=config["proxy_location"], http_options=config["http_options"],
                    grpc_options=gRPCOptions(**config["grpc_options"]))
        for app in config["applications"]:
            module, builder = app["import_path"].split(":")
            application = getattr(importlib.import_module(module), builder)(app["args"])
            serve.run(application, name=app["name"], route_prefix=app["route_prefix"])
        print(f"{READY}127.0.0.1:{config['grpc_options']['port']}", flush=True)
        stop.wait()
    finally:
        serve.shutdown()
        ray.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
