"""The cluster credential file: made once, private, kept across restarts."""

from __future__ import annotations

import pytest

from elkeid.pki import PKIError
from elkeid.server.sd import CLUSTER_TOKEN_FILE, credential_matches, load_or_create_cluster_token


def test_created_once_with_owner_only_permissions(tmp_path):
    token = load_or_create_cluster_token(tmp_path)
    path = tmp_path / CLUSTER_TOKEN_FILE
    assert len(token) >= 40 and path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_cluster_token(tmp_path) == token


def test_an_empty_file_is_a_clear_error(tmp_path):
    (tmp_path / CLUSTER_TOKEN_FILE).write_text("\n")
    with pytest.raises(PKIError, match="is empty; delete it"):
        load_or_create_cluster_token(tmp_path)


def test_matching():
    assert credential_matches("abc", "abc")
    assert not credential_matches("abd", "abc")
    assert not credential_matches(None, "abc")
    assert not credential_matches("ü", "abc")
