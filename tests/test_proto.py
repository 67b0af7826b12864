import filecmp
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_generated_stubs_are_current(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "scripts/gen_proto.py"), str(tmp_path)], check=True)
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert generated, "protoc generated nothing"
    stale = [str(p) for p in generated if not (ROOT / "core" / p).exists()
             or not filecmp.cmp(tmp_path / p, ROOT / "core" / p, shallow=False)]
    assert not stale, f"generated code is stale; run `make proto`: {stale}"
