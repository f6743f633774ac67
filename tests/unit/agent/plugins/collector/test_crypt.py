from __future__ import annotations

from elkeid.agent.plugins.collector import verify_password
from elkeid.agent.plugins.collector._crypt import crypt, gensalt

# Ulrich Drepper's published sha512crypt test vector.
SHA512_VECTOR = ("Hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1")


def test_sha512crypt_reference_vector():
    word, hashed = SHA512_VECTOR
    assert crypt(word, "$6$saltstring") == hashed
    assert verify_password(word, hashed) and not verify_password("Hello world", hashed)


def test_yescrypt_as_debian_writes_it():
    salt = gensalt("$y$")
    assert salt.startswith("$y$")
    hashed = crypt("s3cret", salt)
    assert hashed.startswith(salt) and verify_password("s3cret", hashed) and not verify_password("secret", hashed)


def test_locked_and_unknown_settings_never_verify():
    assert crypt("x", "!locked") is None
    assert not verify_password("", "*") and not verify_password("x", "!$6$saltstring$abc")
