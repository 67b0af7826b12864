"""The import rules of docs/ARCHITECTURE.md, checked on the source (every import statement, lazy ones and
``TYPE_CHECKING`` ones included), plus what importing a light module pulls in at run time.

Layers, lowest first; a module imports its own layer and the layers its layer may use (``MAY_USE``):

    contract   errors _version fileio media motion controls audio features runtime proto wire
    animators  animators phonemes settle speechcheck  uses the contract
    outputs    character exports face render blender  uses the contract (they consume motion, not animators)
    services   server client aio                     uses the contract, animators, outputs
    apps       unreal dialogue_batch train cli, the package root (facecast/__init__.py) and __main__: anything

and besides: only ``cli`` imports ``server``; ``server`` and ``client`` never import each other (they meet on the
wire); nothing in core/facecast imports the plugins or reaches out of the package into the checkout.
"""

from __future__ import annotations

import ast
import functools
import importlib
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "core" / "facecast"
LAYERS: tuple[tuple[str, frozenset[str]], ...] = (
    ("contract", frozenset({"errors", "_version", "fileio", "background", "media", "motion", "controls", "audio",
                           "features", "whisper_states", "whisper_stream", "runtime", "proto", "wire"})),
    ("animators", frozenset({"animators", "phonemes", "settle", "speechcheck"})),
    ("outputs", frozenset({"character", "exports", "face", "render", "blender"})),
    ("services", frozenset({"server", "client", "aio"})),
    ("apps", frozenset({"unreal", "dialogue_batch", "train", "cli", "__init__", "__main__"})),
)
MAY_USE: dict[str, frozenset[str]] = {
    "contract": frozenset({"contract"}),
    "animators": frozenset({"contract", "animators"}),
    "outputs": frozenset({"contract", "outputs"}),
    "services": frozenset({"contract", "animators", "outputs", "services"}),
    "apps": frozenset(name for name, _ in LAYERS),
}
PLUGIN_MODULES = ("facecast_blender", "facecast_take_curves", "build_addon")  # plugins/ code
# Known breaks, each fixed on another branch; delete an entry once its fix is merged.
KNOWN_IMPORTS: set[tuple[str, str]] = set()
KNOWN_CHECKOUT_REACHES: set[str] = set()


@functools.cache
def _sources() -> list[tuple[str, ast.Module]]:
    """(path relative to core/facecast, parsed module) for every hand-written module (generated protobuf aside)."""
    return [(path.relative_to(CORE).as_posix(), ast.parse(path.read_text(encoding="utf-8")))
            for path in sorted(CORE.rglob("*.py")) if not path.name.endswith(("_pb2.py", "_pb2_grpc.py"))]


def _facecast_imports(tree: ast.Module) -> set[str]:
    """Every ``facecast.*`` module a source imports, as a dotted name without the ``facecast.`` prefix
    (``from facecast import wire`` is ``wire``; ``import facecast`` / ``from facecast import animate`` is
    ``__init__``, the package root)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.split(".")[0] == "facecast")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "facecast":
                names.update(f"facecast.{a.name}" if _is_module(a.name) else "facecast" for a in node.names)
            elif node.module.startswith("facecast."):
                names.add(node.module)
    return {name.removeprefix("facecast.") if name != "facecast" else "__init__" for name in names}


def _is_module(name: str) -> bool:
    return (CORE / f"{name}.py").is_file() or (CORE / name / "__init__.py").is_file()


def _unit(path_or_module: str) -> str:
    """The package or top-level module a source path (``exports/gltf.py``) or module name (``exports.gltf``)
    belongs to: ``exports``; ``__init__.py`` is the package root."""
    first = path_or_module.replace("/", ".").split(".")[0]
    return "__init__" if path_or_module == "__init__.py" else first


def _layer(unit: str) -> str:
    return next(name for name, members in LAYERS if unit in members)


def test_every_module_has_a_layer():
    units = {_unit(path) for path, _ in _sources()}
    placed = set().union(*(members for _, members in LAYERS))
    assert units <= placed, f"put {sorted(units - placed)} in a layer of LAYERS and docs/ARCHITECTURE.md"


def test_each_layer_imports_only_the_layers_it_may_use():
    wrong_way = []
    for path, tree in _sources():
        source = _layer(_unit(path))
        for module in _facecast_imports(tree):
            target = _layer(_unit(module))
            if target not in MAY_USE[source] and (path, module) not in KNOWN_IMPORTS:
                wrong_way.append(f"{path} ({source}) imports facecast.{module} ({target})")
    assert not wrong_way


def test_only_the_cli_imports_the_daemon_and_client_and_server_meet_on_the_wire():
    broken = []
    for path, tree in _sources():
        source = _unit(path)
        targets = {_unit(module) for module in _facecast_imports(tree)}
        if "server" in targets and source not in ("server", "cli"):
            broken.append(f"{path} imports facecast.server")
        if source in ("client", "aio") and "server" in targets:
            broken.append(f"{path}: the client imports the server")
        if source == "server" and targets & {"client", "aio"}:
            broken.append(f"{path}: the server imports the client")
    assert not broken


def test_the_a2f_service_and_the_native_servicer_do_not_import_each_other():
    crossing = [(path, module) for path, tree in _sources() for module in _facecast_imports(tree)
                if {path, module} in ({"server/a2f.py", "server.servicer"}, {"server/servicer.py", "server.a2f"})]
    assert set(crossing) <= KNOWN_IMPORTS


def test_core_never_imports_the_plugins_nor_reaches_into_the_checkout():
    """An installed wheel has no plugins/ and no .venv-blender: core code must not need them."""
    reaching: set[str] = set()
    for path, tree in _sources():
        depth = path.count("/")  # folders between the module and core/facecast
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                if any(module.split(".")[0] in PLUGIN_MODULES for module in modules):
                    reaching.add(path)
            elif (isinstance(node, ast.Attribute) and node.attr == "path" and isinstance(node.value, ast.Name)
                  and node.value.id == "sys"):
                reaching.add(path)  # sys.path: finding code by location instead of by import
            elif (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute)
                  and node.value.attr == "parents" and isinstance(node.slice, ast.Constant)
                  and isinstance(node.slice.value, int) and node.slice.value > depth):
                reaching.add(path)  # Path(__file__).parents[k] above core/facecast
    assert reaching <= KNOWN_CHECKOUT_REACHES, sorted(reaching - KNOWN_CHECKOUT_REACHES)


def _imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_the_packet_codec_and_csv_takes_import_no_3d_format_library():
    loaded = _imported_after("import facecast.unreal.packet, facecast.exports.livelink_csv, facecast.exports")
    assert not {"pygltflib", "pxr", "av", "cv2", "facecast.exports.gltf", "facecast.render"} & loaded


def _top_level_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _module_name(path: Path) -> str:
    """``facecast.server`` for ``core/facecast/server/__init__.py``, ``facecast.wire`` for ``wire.py``."""
    parts = path.relative_to(CORE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_every_name_in_an_all_list_exists():
    """``from facecast.X import *`` must not raise: each ``__all__`` names only what the module defines."""
    stale = []
    for path in sorted(CORE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__"
                                                    for t in node.targets):
                listed = ast.literal_eval(node.value)
                missing = [name for name in listed if name not in _top_level_names(tree)]
                if missing and "__getattr__" in _top_level_names(tree):  # names loaded on first use: load them
                    module = importlib.import_module(_module_name(path))
                    missing = [name for name in missing if not hasattr(module, name)]
                stale += [f"{path.relative_to(CORE)}: {name}" for name in missing]
    assert not stale
