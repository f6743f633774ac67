"""ATT&CK links, triage steps and field rows of the alert pages."""

from __future__ import annotations

from elkeid.ui._alertview import attack_url, event_rows, next_steps, whitelist_fields


def test_attack_ids_link_to_their_pages_and_nothing_else_links():
    assert attack_url("T1059.004") == "https://attack.mitre.org/techniques/T1059/004/"
    assert attack_url("t1110") == "https://attack.mitre.org/techniques/T1110/"
    assert attack_url("TA0002") == "https://attack.mitre.org/tactics/TA0002/"
    for odd in ("T1059/../../x", "javascript:alert(1)", "T12345", "", '"><img>'):
        assert attack_url(odd) == ""


def test_steps_follow_the_engines_transitions():
    assert next_steps("open") == [("acknowledged", "Acknowledge"), ("resolved", "Resolve"),
                                  ("false_positive", "False positive")]  # fmt: skip
    assert next_steps("resolved") == [("open", "Re-open")]
    assert next_steps("gone") == []


def test_field_rows_put_what_happened_first():
    event = {"data_type": 59, "agent_id": "a", "exe": "/bin/sh", "argv": "", "bad name": "x", "pid": None}
    assert event_rows(event) == [("exe", "/bin/sh"), ("argv", ""), ("bad name", "x"), ("pid", ""),
                                 ("data_type", "59"), ("agent_id", "a")]  # fmt: skip
    assert whitelist_fields(event) == [("exe", "/bin/sh")]  # empty values, routing and unusable names left out
