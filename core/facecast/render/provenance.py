"""C2PA content credentials on the videos facecast writes, and reading them back (``facecast verify``).

Every mp4 gets a manifest, signed with ES256, saying facecast made it and that it is ``trainedAlgorithmicMedia``
(the IPTC term for synthetic media). The signing identity is made on first use: a local root certificate and a
leaf certificate it issues (C2PA refuses self-signed leaves), kept under ``FACECAST_C2PA_DIR`` (default
``~/.local/share/facecast/c2pa``). Nothing is downloaded and no timestamp authority is asked, so the signature
is genuine but its signer is not on any public trust list: readers report the manifest as present and intact,
with an untrusted signer, which is what a locally generated key can honestly claim.

Needs the ``c2pa-python`` and ``cryptography`` packages; without them videos are written without credentials
and a warning says so.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

from facecast._version import __version__

CLAIM_GENERATOR = "facecast"
KEY_DIR_ENV = "FACECAST_C2PA_DIR"
_lock = threading.Lock()


@dataclass(frozen=True)
class Credentials:
    """What a file's C2PA manifest says: ``generator`` (claim generator name), ``title``, the
    ``source_type`` of its created action, and the reader's ``validation`` state (e.g. "Valid", "Invalid")
    with any ``problems`` (validation status codes)."""

    generator: str
    title: str
    source_type: str
    validation: str
    problems: tuple[str, ...]


def available() -> bool:
    try:
        import c2pa  # noqa: F401
        import cryptography  # noqa: F401
    except ImportError:
        return False
    return True


def key_dir() -> Path:
    return Path(os.environ.get(KEY_DIR_ENV) or Path.home() / ".local" / "share" / "facecast" / "c2pa")


def signing_identity(folder: Path | None = None) -> tuple[bytes, bytes]:
    """(certificate chain PEM: leaf then root, private key PEM), generated into ``folder`` on first use."""
    folder = folder or key_dir()
    chain, key = folder / "chain.pem", folder / "signer.key"
    with _lock:
        if not (chain.exists() and key.exists()):
            folder.mkdir(parents=True, exist_ok=True)
            chain_pem, key_pem = _make_identity()
            for path, data in ((key, key_pem), (chain, chain_pem)):
                tmp = path.with_suffix(".tmp")
                tmp.write_bytes(data)
                os.chmod(tmp, 0o600)
                os.replace(tmp, path)
        return chain.read_bytes(), key.read_bytes()


def _make_identity() -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    root_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "facecast local root"),
                           x509.NameAttribute(NameOID.ORGANIZATION_NAME, "facecast")])
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "facecast renderer"),
                           x509.NameAttribute(NameOID.ORGANIZATION_NAME, "facecast")])
    root = (x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
            .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(root_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(leaf_name).issuer_name(root_name)
            .public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1825))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    chain = leaf.public_bytes(pem) + root.public_bytes(pem)
    key = leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return chain, key


def manifest(title: str) -> dict:
    return {
        "claim_generator_info": [{"name": CLAIM_GENERATOR, "version": __version__}],
        "title": title,
        "format": "video/mp4",
        "assertions": [{"label": "c2pa.actions", "data": {"actions": [{
            "action": "c2pa.created",
            "softwareAgent": {"name": CLAIM_GENERATOR, "version": __version__},
            "digitalSourceType": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
        }]}}],
    }


def sign_mp4(path: str | os.PathLike[str], title: str) -> bool:
    """Embed signed content credentials in the mp4 at ``path`` (in place). False (with a warning) when the
    C2PA packages are not installed."""
    if not available():
        warnings.warn("c2pa-python is not installed: the video carries the watermark but no C2PA content "
                      "credentials (pip install c2pa-python cryptography)", stacklevel=2)
        return False
    import c2pa

    chain, key = signing_identity()
    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, key, None)
    name = os.fspath(path)
    with tempfile.TemporaryDirectory(dir=os.path.dirname(os.path.abspath(name))) as folder:
        signed = os.path.join(folder, "signed.mp4")
        with c2pa.Signer.from_info(info) as signer, c2pa.Builder(manifest(title)) as builder:
            builder.sign_file(name, signed, signer)
        shutil.move(signed, name)
    return True


def read_credentials(path: str | os.PathLike[str]) -> Credentials | None:
    """The C2PA manifest of a file, or None when it has none (or the C2PA packages are not installed)."""
    try:
        import c2pa
    except ImportError:
        return None
    try:
        with c2pa.Reader(os.fspath(path)) as reader:
            store = json.loads(reader.json())
            state = reader.get_validation_state() or "unknown"
    except Exception:  # c2pa raises its own errors for "no manifest" and unsupported formats
        return None
    active = store.get("manifests", {}).get(store.get("active_manifest", ""), {})
    generators = active.get("claim_generator_info") or [{}]
    source = ""
    for assertion in active.get("assertions", []):
        if assertion.get("label", "").startswith("c2pa.actions"):
            for action in assertion.get("data", {}).get("actions", []):
                source = source or str(action.get("digitalSourceType", "")).rsplit("/", 1)[-1]
    problems = tuple(str(s.get("code", "")) for s in store.get("validation_status", []) or [])
    return Credentials(str(generators[0].get("name", "")), str(active.get("title", "")), source, state, problems)
