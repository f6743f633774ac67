"""Expected uploads: one file per token, only from the agent it was asked of."""

from __future__ import annotations

import pytest

from elkeid.server.store import Conflict, NotFound, Store, UploadRefused


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    yield s
    s.close()


def test_an_expected_upload_is_claimed_once_then_stored(store):
    store.expect_upload("tok-1", "a1", 1000)
    assert store.claim_upload("tok-1", "a1") == 1000
    with pytest.raises(UploadRefused, match="already receiving"):
        store.claim_upload("tok-1", "a1")
    store.finish_upload("tok-1", size=3, sha256="ab" * 32, path="/x")
    got = store.get_upload("tok-1")
    assert (got["status"], got["size"], got["agent_id"], got["path"]) == ("stored", 3, "a1", "/x")
    with pytest.raises(UploadRefused, match="already stored"):
        store.claim_upload("tok-1", "a1")


def test_another_agent_or_an_unknown_token_is_refused(store):
    store.expect_upload("tok-2", "a1", 10)
    with pytest.raises(UploadRefused, match="not a pending upload of agent a2"):
        store.claim_upload("tok-2", "a2")
    with pytest.raises(UploadRefused, match="not a pending upload"):
        store.claim_upload("nope", "a1")
    with pytest.raises(NotFound):
        store.get_upload("nope")


def test_expired_and_released_uploads(store):
    store.expect_upload("old", "a1", 10, ttl=-1)
    with pytest.raises(UploadRefused, match="expired"):
        store.claim_upload("old", "a1")
    store.expect_upload("retry", "a1", 10)
    store.claim_upload("retry", "a1")
    store.release_upload("retry")  # the stream broke: the agent may try again
    assert store.claim_upload("retry", "a1") == 10


def test_bad_expectations_are_refused(store):
    store.expect_upload("t", "a1", 10)
    with pytest.raises(Conflict):
        store.expect_upload("t", "a1", 10)
    with pytest.raises(ValueError, match="positive"):
        store.expect_upload("u", "a1", 0)
    with pytest.raises(ValueError, match="1..128"):
        store.expect_upload("x" * 200, "a1", 10)
