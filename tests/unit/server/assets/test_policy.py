"""Every inventory type has a policy, whose fields exist in its declaration."""

from __future__ import annotations

from elkeid import datatypes
from elkeid.server.assets import POLICIES, policy_for


def test_every_asset_type_with_an_identity_key_has_a_policy():
    keyed = {t.number for t in datatypes.all_types() if t.kind == datatypes.Kind.ASSET and t.key}
    assert set(POLICIES) == keyed
    for p in POLICIES.values():
        declared = set(p.spec.own_fields)
        assert p.label in declared and p.ignore <= declared, p.name
        assert not (p.ignore & set(p.key)), f"{p.name}: an ignored field is part of the identity key"
        assert p.version == "" or p.version in p.key


def test_lookup_by_number_name_or_text_number():
    assert policy_for(5051) is policy_for("5051") is policy_for("listen_port") is POLICIES[5051]
    assert policy_for("integrity") is None and policy_for("59") is None and policy_for("9" * 40) is None


def test_key_hash_is_fixed_length_and_ignores_other_fields():
    p = POLICIES[datatypes.ASSET_CRON]
    a = {"path": "/etc/crontab", "username": "root", "schedule": "* * * * *", "command": "x" * 10_000}
    assert len(p.key_hash(a)) == 40
    assert p.key_hash(a) == p.key_hash({**a, "checksum": "abc"})
    assert p.key_hash(a) != p.key_hash({**a, "username": "bob"})
