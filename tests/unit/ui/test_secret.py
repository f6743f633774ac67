"""The console secret file: created 0600, kept, tightened, refused when unusable."""

from __future__ import annotations

import logging
import os
import stat

import pytest

from elkeid.ui import SecretFileError
from elkeid.ui._secret import load_or_create_secret


def test_created_once_with_mode_0600(tmp_path):
    path = tmp_path / "console-secret"
    first = load_or_create_secret(path)
    assert len(first) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(path) == first


def test_a_readable_file_is_tightened_with_a_warning(tmp_path, caplog):
    path = tmp_path / "console-secret"
    load_or_create_secret(path)
    os.chmod(path, 0o644)
    with caplog.at_level(logging.WARNING):
        load_or_create_secret(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "readable by others" in caplog.text


@pytest.mark.parametrize("content", ["", "not hex", "abcd"])
def test_a_bad_file_is_refused_with_the_fix(tmp_path, content):
    path = tmp_path / "console-secret"
    path.write_text(content)
    os.chmod(path, 0o600)
    with pytest.raises(SecretFileError, match="delete it and restart"):
        load_or_create_secret(path)


def test_an_unwritable_directory_is_reported(tmp_path):
    with pytest.raises(SecretFileError, match="cannot create the console secret"):
        load_or_create_secret(tmp_path / "missing" / "console-secret")
