"""What importing a module pulls in: light modules stay light, so the add-on and the Unreal bridge start fast."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

CORE = Path(__file__).resolve().parents[1] / "core" / "facecast"


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


def test_every_name_in_an_all_list_exists():
    """``from facecast.X import *`` must not raise: each ``__all__`` names only what the module defines."""
    stale = []
    for path in sorted(CORE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__"
                                                    for t in node.targets):
                listed = ast.literal_eval(node.value)
                stale += [f"{path.relative_to(CORE)}: {name}" for name in listed
                          if name not in _top_level_names(tree)]
    assert not stale
