"""The daemon's container image (Dockerfile, docs/DEPLOY.md): built and smoke-tested where Docker runs."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from facecast.client import Client

ROOT = Path(__file__).resolve().parents[1]


def _docker_missing() -> str | None:
    if not shutil.which("docker"):
        return "no docker command"
    probe = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
                           timeout=30)
    if probe.returncode:
        return f"no Docker daemon reachable: {(probe.stderr.strip().splitlines() or ['docker info failed'])[-1]}"
    return None


def test_dockerfiles_install_the_wheel_and_serve_on_the_container_port() -> None:
    for name, ort in (("Dockerfile", None), ("Dockerfile.cuda", "onnxruntime-gpu")):
        text = "\n".join(line for line in (ROOT / name).read_text().splitlines() if not line.startswith("#"))
        assert "pip wheel --no-cache-dir --no-deps" in text and "torch" not in text
        assert '"serve", "--host", "0.0.0.0", "--port", "50051"' in text and "HEALTHCHECK" in text
        assert ort is None or f"--force-reinstall --no-deps {ort}" in text
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[1] == "*" and "!core/" in ignored  # the build context is the package only


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_cpu_image_builds_becomes_healthy_and_animates() -> None:
    missing = _docker_missing()
    if missing:
        pytest.skip(missing)
    tag = f"facecast-test:{uuid.uuid4().hex[:8]}"
    build = subprocess.run(["docker", "build", "-t", tag, str(ROOT)], capture_output=True, text=True, timeout=1200)
    assert build.returncode == 0, build.stderr[-3000:]
    name = f"facecast-test-{uuid.uuid4().hex[:8]}"
    try:
        run = subprocess.run(["docker", "run", "-d", "--name", name, "-p", "127.0.0.1::50051", tag],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        port = subprocess.run(["docker", "port", name, "50051/tcp"], capture_output=True, text=True,
                              timeout=30).stdout.strip().rsplit(":", 1)[-1]
        with Client(f"127.0.0.1:{port}", timeout=30) as client:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if client.health() == "SERVING":
                        break
                except Exception:  # not up yet
                    time.sleep(1)
            assert "CPUExecutionProvider" in client.info()["providers"]
            clip = client.animate(ROOT / "assets" / "speech_en.wav", fps=30)
        assert clip.num_frames == 240
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60)
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, timeout=120)
