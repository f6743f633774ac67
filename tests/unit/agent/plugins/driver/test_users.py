from __future__ import annotations

from elkeid.agent.plugins.driver._users import UserNames


def test_names_of_known_and_unknown_uids():
    users = UserNames()
    assert users.name(0) == "root"
    assert users.name(65534) == "nobody"
    assert users.name(2**31 - 7) == ""
    assert users.name(2**40) == ""
