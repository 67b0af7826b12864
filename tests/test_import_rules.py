"""What importing a module pulls in: light modules stay light, so the add-on and the Unreal bridge start fast."""

from __future__ import annotations

import subprocess
import sys


def _imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_the_packet_codec_and_csv_takes_import_no_3d_format_library():
    loaded = _imported_after("import facecast.unreal.packet, facecast.exports.livelink_csv, facecast.exports")
    assert not {"pygltflib", "pxr", "av", "cv2", "facecast.exports.gltf", "facecast.render"} & loaded
