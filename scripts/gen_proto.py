"""Regenerate the checked-in Python stubs from proto/ (run by `make proto`; tests check they are current).

The stubs live in the package as ``facecast.proto``: the proto is mapped to that import path so the generated
gRPC module imports its messages from inside facecast. The Audio2Face-3D-compatible protos (proto/nvidia_ace,
importing each other as ``facecast/proto/a2f/...``) are mapped to ``facecast.proto.a2f`` the same way.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[1]
PROTOS = {"facecast/proto": ROOT / "proto/facecast/v1", "facecast/proto/a2f": ROOT / "proto/nvidia_ace"}


def generate(out_dir: Path) -> None:
    for virtual, real in PROTOS.items():
        for proto in sorted(real.rglob("*.proto")):
            args = ["protoc", f"-I{virtual}={real}", f"-I{Path(protoc.__file__).parent / '_proto'}",
                    f"--python_out={out_dir}", f"--grpc_python_out={out_dir}", f"--pyi_out={out_dir}",
                    f"{virtual}/{proto.relative_to(real).as_posix()}"]
            if protoc.main(args) != 0:
                raise SystemExit(f"protoc failed on {proto}")


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "core")
