"""The server package's boundaries: the Audio2Face-3D service and the native one share state, not each other;
listing the animators builds none of them."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run_python(code: str) -> None:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr


def test_the_a2f_service_does_not_import_the_native_servicer():
    run_python("""
        import sys
        import facecast.server.a2f
        assert "facecast.server.servicer" not in sys.modules, "a2f imports the native servicer"
    """)


def test_get_info_metadata_comes_without_building_animators():
    run_python("""
        from facecast import animators
        from facecast.server.servicer import Facecast
        info = [animators.describe_animator(name) for name in animators.animator_names()]
        assert {i["name"] for i in info} == set(animators.animator_names())
        assert not animators._loaded, "describing the animators built " + ", ".join(animators._loaded)
    """)
