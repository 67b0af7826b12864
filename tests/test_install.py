"""Install weight (issue 13 #4): the runtime needs numpy, grpc and ONNX Runtime on the CPU, never torch;
``facecast[gpu]`` brings the CUDA build, ``facecast[train]`` torch; ``make demo`` installs the runtime only
and runs without ``--quiet``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_runtime_dependencies_are_cpu_only_and_extras_bring_the_rest() -> None:
    project = _project()
    runtime = " ".join(project["dependencies"])
    assert "torch" not in runtime and "onnxruntime-gpu" not in runtime and "onnxruntime>=" in runtime
    extras = project["optional-dependencies"]
    assert any(d.startswith("onnxruntime-gpu") for d in extras["gpu"])
    assert any(d.startswith("torch") for d in extras["train"])
    assert any(d.startswith("pexpect") for d in extras["dev"])


def test_make_demo_installs_the_runtime_only_and_shows_progress() -> None:
    plan = subprocess.run(["make", "-n", "-B", "demo"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert plan.returncode == 0, plan.stderr
    commands = plan.stdout
    assert "pip install -q -e ." in commands and "torch" not in commands and "[train" not in commands
    animate = [line for line in commands.splitlines() if "facecast animate" in line]
    assert len(animate) == 3 and not any("--quiet" in line for line in animate)


def test_animating_and_rendering_never_import_torch(tmp_path: Path) -> None:
    import soundfile as sf

    samples, rate = sf.read(ROOT / "assets" / "speech_en.wav")
    sf.write(tmp_path / "short.wav", samples[: 2 * rate], rate)
    script = (
        "import sys\n"
        "from facecast.cli import main\n"
        "main(['animate', 'short.wav', '--image', "
        f"{str(ROOT / 'assets' / 'mona_lisa.jpg')!r}, '--size', '128', '-o', 'x.mp4', '--quiet'])\n"
        "bad = [m for m in ('torch', 'onnx') if m in sys.modules]\n"
        "sys.exit(f'imported {bad}' if bad else 0)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
