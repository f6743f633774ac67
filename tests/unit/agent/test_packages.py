from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from elkeid.agent._packages import check_signature, download, normalize_sha256, signed_message, verify_file
from elkeid.agent.errors import PackageRejected

KEY = ed25519.Ed25519PrivateKey.generate()
PUB = base64.b64encode(KEY.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()
SHA = hashlib.sha256(b"plugin").hexdigest()


def _sig(name="p", version="1", sha=SHA, key=KEY) -> str:
    return base64.b64encode(key.sign(signed_message(name, version, sha))).decode()


def test_the_signed_message_follows_the_contract():
    assert signed_message("driver", "1.2", "ab") == b"elkeid-plugin\0driver\x001.2\0ab"


def test_a_good_signature_passes():
    check_signature(PUB, "p", "1", SHA, _sig())


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (dict(version="2"), "does not verify"),  # signature over another version
        (dict(sig=_sig(key=ed25519.Ed25519PrivateKey.generate())), "does not verify"),
        (dict(sig="%%%"), "not base64"),
        (dict(pub=""), "no package-signing key"),
        (dict(pub="AAAA"), "damaged"),
    ],
)
def test_bad_signatures_are_refused(args, match):
    with pytest.raises(PackageRejected, match=match):
        check_signature(args.get("pub", PUB), "p", args.get("version", "1"), SHA, args.get("sig", _sig()))


def test_sha256_must_be_hex():
    assert normalize_sha256("p", SHA.upper()) == SHA
    with pytest.raises(PackageRejected, match="not 64 hex digits"):
        normalize_sha256("p", "../../x")


def test_a_changed_file_is_refused(tmp_path):
    f = tmp_path / "x.pkg"
    f.write_bytes(b"plugin")
    verify_file(f, "p", SHA)
    f.write_bytes(b"plugin!")
    with pytest.raises(PackageRejected, match="changed on disk"):
        verify_file(f, "p", SHA)


def test_plain_http_and_missing_urls_are_refused(tmp_path):
    with pytest.raises(PackageRejected, match="no download URL"):
        download([], tmp_path / "x", "p", SHA, b"")
    with pytest.raises(PackageRejected, match="not an https:// URL"):
        download(["http://example.invalid/x"], tmp_path / "x", "p", SHA, _ca())
    assert list(tmp_path.iterdir()) == []


def _ca() -> bytes:
    from elkeid import pki

    return pki.cert_pem(pki.create_ca("t")[1])
