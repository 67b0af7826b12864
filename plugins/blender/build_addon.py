"""Build the Facecast Blender extension zip (drag and drop it onto Blender 4.2+ to install).

    python plugins/blender/build_addon.py [--out dist] [--no-download] [--wheel-cache DIR]

The zip holds the add-on package ``facecast_blender/``, its ``blender_manifest.toml`` with a ``wheels`` list,
and ``wheels/``: a ``facecast`` core wheel built here from the bpy-free modules the add-on needs, found by
following its imports (client and generated proto, motion contract, controls, Live Link CSV, the
``facecast.character`` vocabulary, the in-process ``energy`` and ``neural`` animators), unchanged, with the
learned model's ONNX weights and the Whisper encoder and jaw head that its whole clips fuse with, plus grpcio,
protobuf, msgpack, grpcio-health-checking and onnxruntime for Python 3.11 on Linux x64, Windows x64 and macOS
arm64/x64, fetched with ``pip download --only-binary :all:``.
numpy ships with Blender. ``--no-download`` builds only the core wheel (for tests and offline use; such a zip
runs where those packages are already importable).
"""

from __future__ import annotations

import argparse
import ast
import base64
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ADDON = HERE / "facecast_blender"
CORE = HERE.parent.parent / "core" / "facecast"
# modules the add-on loads by name (importlib), which no import statement shows: the animators that Generate &
# Bake runs in-process (inprocess.py), and what they import inside functions (neural: the ONNX Runtime session,
# the Whisper encoder and the fusion of whole clips)
LOADED_BY_NAME = ("facecast.animators.energy", "facecast.animators.neural", "facecast.runtime",
                  "facecast.whisper_states", "facecast.animators.fusion")
# files the bundled modules read at run time (relative to CORE): the learned model and its settings, and the
# Whisper encoder and jaw head that whole clips fuse with the model's jaw
DATA_FILES = ("models/neural/neural.onnx", "models/neural/neural.json",
              "models/neural/whisper_tiny_en_encoder.onnx", "models/neural/whisper_jaw.npz")

# (Blender platform, pip --platform tags) for Python 3.11
PLATFORMS = (
    ("linux-x64", ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")),
    ("windows-x64", ("win_amd64",)),
    ("macos-arm64", ("macosx_11_0_arm64", "macosx_13_0_arm64")),
    ("macos-x64", ("macosx_10_15_x86_64", "macosx_11_0_x86_64", "macosx_13_0_x86_64")),
)
# onnxruntime 1.23.2 is the newest release with cp311 wheels for all four (1.24+ have no macOS x64 wheel); its
# macOS wheels are tagged 13.0 (older Macs fall back to the energy animator, inprocess.py). The macOS 13 tags
# above do not change the other packages' picks.
REQUIREMENTS = ("grpcio==1.85.3", "grpcio-health-checking==1.85.1", "protobuf==7.36.2", "msgpack==1.2.4",
                "onnxruntime==1.23.2")


def version() -> str:
    text = (CORE / "_version.py").read_text(encoding="utf-8")
    found = re.search(r'__version__ = "([^"]+)"', text)
    if found is None:
        raise SystemExit(f"no __version__ in {CORE / '_version.py'}")
    return found.group(1)


def _imported_modules(source: Path, everywhere: bool) -> set[str]:
    """Dotted ``facecast...`` names that ``source`` imports: anywhere in the add-on's own files (its operators
    import lazily), at module level only in core files (their function-level imports are optional heavy parts)."""
    tree = ast.parse(source.read_text(encoding="utf-8"))
    statements = ast.walk(tree) if everywhere else iter(tree.body)
    names: set[str] = set()
    for node in statements:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)  # submodules imported by name
    return {name for name in names if name == "facecast" or name.startswith("facecast.")}


def _module_file(name: str) -> str | None:
    """The path under :data:`CORE` of module ``name`` (``facecast.motion`` -> ``motion.py``), if it is one."""
    rel = name.split(".")[1:]
    for candidate in ("/".join(rel) + ".py", "/".join([*rel, "__init__.py"])):
        if candidate != ".py" and (CORE / candidate).is_file():
            return candidate
    return None


def core_modules() -> list[str]:
    """The facecast files (relative to :data:`CORE`) the add-on needs: what its modules import, what those
    import at module level in turn, and the package ``__init__.py`` above each (all bpy-free)."""
    todo = set().union(*(_imported_modules(f, everywhere=True) for f in ADDON.rglob("*.py")), LOADED_BY_NAME)
    files: set[str] = set()
    while todo:
        name = todo.pop()
        rel = _module_file(name)
        if rel is None or rel in files:
            continue
        files.add(rel)
        todo |= _imported_modules(CORE / rel, everywhere=False)
        todo |= {".".join(name.split(".")[:i]) for i in range(1, name.count(".") + 1)}  # parent packages
    return sorted(files)


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_core_wheel(out_dir: Path) -> Path:
    """A pure-Python ``facecast`` wheel holding the :func:`core_modules` the add-on needs and their
    :data:`DATA_FILES`."""
    ver = version()
    files: dict[str, bytes] = {f"facecast/{rel}": (CORE / rel).read_bytes() for rel in (*core_modules(),
                                                                                          *DATA_FILES)}
    info = f"facecast-{ver}.dist-info"
    files[f"{info}/METADATA"] = (f"Metadata-Version: 2.1\nName: facecast\nVersion: {ver}\n"
                                 "Summary: facecast client subset bundled with the Blender add-on\n").encode()
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: facecast build_addon\nRoot-Is-Purelib: true\n" \
                             b"Tag: py3-none-any\n"
    record = [_record_line(name, data) for name, data in files.items()] + [f"{info}/RECORD,,"]
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = out_dir / f"facecast-{ver}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            zf.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), files[name], zipfile.ZIP_DEFLATED)
    return path


def download_wheels(root: Path) -> list[Path]:
    """Binary wheels of :data:`REQUIREMENTS` for every platform, one folder per platform under ``root``.

    pip skips files already in a folder, so a kept ``root`` (``--wheel-cache``) makes rebuilds offline.
    """
    wanted = tuple(re.sub(r"[-_.]+", "_", name).lower() + f"-{ver}-"
                   for name, ver in (r.split("==") for r in REQUIREMENTS))
    wheels: dict[str, Path] = {}  # by file name: macOS universal2 wheels serve both Macs once
    for platform, tags in PLATFORMS:
        target = root / platform
        target.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary", ":all:", "--no-deps",
                   "--python-version", "3.11", "--implementation", "cp", "-d", str(target)]
        command += [arg for tag in tags for arg in ("--platform", tag)]
        subprocess.run([*command, *REQUIREMENTS], check=True)
        wheels.update({w.name: w for w in target.glob("*.whl") if w.name.lower().startswith(wanted)})
    return [wheels[name] for name in sorted(wheels)]


def manifest(wheels: list[Path], with_platforms: bool) -> str:
    text = (ADDON / "blender_manifest.toml").read_text(encoding="utf-8")
    listed = "".join(f'  "./wheels/{w.name}",\n' for w in wheels)
    text = text.replace("wheels = []", f"wheels = [\n{listed}]")
    if with_platforms:
        text = text.replace("[permissions]", "platforms = [" + ", ".join(f'"{p}"' for p, _ in PLATFORMS)
                            + "]\n\n[permissions]")
    return text


def build(out: Path, download: bool = True, cache: Path | None = None) -> Path:
    """Write ``facecast_blender-<version>.zip`` into ``out`` (atomically) and return its path."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheel_dir = Path(tmp)
        wheels = [build_core_wheel(wheel_dir)]
        if download:
            wheels += download_wheels(cache or wheel_dir / "downloads")
        path = out / f"facecast_blender-{version()}.zip"
        partial = path.with_suffix(".zip.partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
            for source in sorted(ADDON.rglob("*")):
                rel = source.relative_to(ADDON).as_posix()
                if source.is_file() and "__pycache__" not in rel and rel != "blender_manifest.toml":
                    zf.write(source, rel)
            zf.writestr("blender_manifest.toml", manifest(wheels, download))
            for wheel in wheels:
                zf.write(wheel, f"wheels/{wheel.name}")
        os.replace(partial, path)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("dist"), help="folder for the zip (default: dist)")
    parser.add_argument("--no-download", action="store_true", help="bundle only the facecast core wheel")
    parser.add_argument("--wheel-cache", type=Path, help="keep downloaded wheels here between builds")
    args = parser.parse_args()
    path = build(args.out, download=not args.no_download, cache=args.wheel_cache)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
