"""Test certificates made at test time with the openssl command: a CA, a server certificate for 127.0.0.1 and
client certificates it signed, plus a rogue CA and a client certificate signed by it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _ca(folder: Path, name: str) -> None:
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
             "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.pem", cwd=folder)


def _signed(folder: Path, name: str, ca: str, extensions: str) -> None:
    _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", f"/CN={name}",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=folder)
    (folder / f"{name}.ext").write_text(extensions)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
             "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=folder)


def make_certificates(folder: Path) -> Path:
    """Writes ca, server, client-a, client-b (signed by ca), rogue-ca and rogue (signed by rogue-ca) as
    NAME.pem and NAME.key into ``folder``."""
    if not shutil.which("openssl"):
        import pytest

        pytest.skip("the openssl command is not installed")
    folder.mkdir(parents=True, exist_ok=True)
    _ca(folder, "ca")
    _ca(folder, "rogue-ca")
    _signed(folder, "server", "ca", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    for client, ca in (("client-a", "ca"), ("client-b", "ca"), ("rogue", "rogue-ca")):
        _signed(folder, client, ca, "extendedKeyUsage=clientAuth\n")
    return folder
