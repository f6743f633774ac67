"""How an API answer is classed in the audit log."""

from __future__ import annotations

import pytest

from elkeid.server.manager._audit import AUDITED_PREFIX, STATE_CHANGING, outcome_of


@pytest.mark.parametrize("status, outcome", [(200, "ok"), (201, "ok"), (302, "ok"), (400, "rejected"),
                                             (401, "denied"), (403, "denied"), (404, "rejected"), (409, "rejected"),
                                             (413, "rejected"), (429, "denied"), (500, "error")])  # fmt: skip
def test_outcome_of(status, outcome):
    assert outcome_of(status) == outcome


def test_what_is_audited():
    assert STATE_CHANGING == {"POST", "PUT", "PATCH", "DELETE"}
    assert AUDITED_PREFIX == "/api/v1/"
