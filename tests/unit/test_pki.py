from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509

from elkeid import pki


def test_fingerprint_is_sha256_of_der_and_normalizes():
    _key, ca = pki.create_ca()
    fp = pki.fingerprint(ca)
    assert len(fp) == 64
    colon = ":".join(fp[i : i + 2] for i in range(0, 64, 2)).upper()
    assert pki.normalize_fingerprint(colon) == fp
    assert pki.normalize_fingerprint("sha256:" + fp) == fp


@pytest.mark.parametrize("bad", ["", "abc", "zz" * 32, "00" * 31])
def test_bad_fingerprint_is_refused(bad):
    with pytest.raises(pki.PKIError, match="not a SHA-256 hex digest"):
        pki.normalize_fingerprint(bad)


def test_agent_certificate_takes_cn_from_agent_id_not_csr():
    ca_key, ca = pki.create_ca()
    csr = pki.make_csr(pki.generate_key(), "claimed")
    cert = pki.sign_agent_csr(ca_key, ca, csr, "real-id")
    assert pki.cert_common_name(cert) == "real-id"
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH in eku
    cert.verify_directly_issued_by(ca)


def test_garbage_csr_is_a_pki_error():
    ca_key, ca = pki.create_ca()
    with pytest.raises(pki.PKIError, match="not a PEM certificate signing request"):
        pki.sign_agent_csr(ca_key, ca, b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", "x")


def test_expired_certificate_can_be_made_for_tests():
    ca_key, ca = pki.create_ca()
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)
    cert = pki.sign_agent_csr(ca_key, ca, pki.make_csr(pki.generate_key(), "a"), "a", days=1, not_before=start)
    assert cert.not_valid_after_utc < dt.datetime.now(dt.timezone.utc)


def test_server_pki_created_once_and_reissued_for_new_sans(tmp_path):
    first = pki.ServerPKI.load_or_create(tmp_path, ["localhost", "127.0.0.1"])
    for name in ("ca.key", "server.key", "signing.key"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600
    same = pki.ServerPKI.load_or_create(tmp_path, ["localhost"])
    assert same.server_cert_pem == first.server_cert_pem
    wider = pki.ServerPKI.load_or_create(tmp_path, ["localhost", "hids.example.org"])
    assert wider.ca_fingerprint == first.ca_fingerprint
    cert = pki.load_cert(wider.server_cert_pem)
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "hids.example.org" in sans.get_values_for_type(x509.DNSName)


def test_server_certificate_is_reissued_when_the_ca_files_are_replaced(tmp_path):
    # Joining a cluster: a server that started alone gets the cluster's CA files copied in.
    alone = pki.ServerPKI.load_or_create(tmp_path / "b", ["localhost"])
    cluster = pki.ServerPKI.load_or_create(tmp_path / "a", ["localhost"])
    for name in ("ca.crt", "ca.key", "signing.key"):
        (tmp_path / "b" / name).write_bytes((tmp_path / "a" / name).read_bytes())
    joined = pki.ServerPKI.load_or_create(tmp_path / "b", ["localhost"])
    assert joined.ca_fingerprint == cluster.ca_fingerprint != alone.ca_fingerprint
    assert joined.server_cert_pem != alone.server_cert_pem
    pki.load_cert(joined.server_cert_pem).verify_directly_issued_by(cluster.ca_cert)


def test_unreadable_pki_file_is_a_pki_error(tmp_path):
    pki.ServerPKI.load_or_create(tmp_path, ["localhost"])
    (tmp_path / "ca.crt").write_text("garbage")
    with pytest.raises(pki.PKIError, match="not a PEM certificate"):
        pki.ServerPKI.load_or_create(tmp_path, ["localhost"])
