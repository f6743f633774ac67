from __future__ import annotations

import pytest

from elkeid import datatypes
from elkeid.agent.plugins.driver import DriverOptions, OptionsError, parse_detail


def test_empty_detail_gives_the_defaults():
    opts = parse_detail("  ")
    assert opts == DriverOptions()
    assert opts.drop_loopback and opts.connect_dedup_seconds == 60 and opts.status_interval == 30


def test_detail_sets_options_and_event_names_become_numbers():
    opts = parse_detail('{"drop_loopback": false, "disabled_events": ["exit", 62], "allow_exe": ["/opt/a"]}')
    assert opts.drop_loopback is False
    assert opts.disabled_events == {datatypes.EXIT, datatypes.KILL}
    assert opts.allow_exe == {"/opt/a"}


@pytest.mark.parametrize(
    "detail, message",
    [
        ("{", "not valid JSON"),
        ("[]", "must be a JSON object, not list"),
        ('{"drop_loopbak": true}', "unknown driver option 'drop_loopbak'; known options: .*drop_loopback"),
        ('{"drop_loopback": 1}', "'drop_loopback' must be true or false, not 1"),
        ('{"max_eps": -1}', "'max_eps' must be a number >= 0, not -1"),
        ('{"ringbuf_pages": 3}', "'ringbuf_pages' must be a power of two"),
        ('{"disabled_events": [5050]}', "5050 is not a driver event"),
        ('{"allow_argv": ["ok", ""]}', "'allow_argv' must be a list of non-empty strings"),
        ('{"status_interval": true}', "'status_interval' must be a number"),
    ],
)
def test_bad_detail_is_refused_with_the_key_named(detail, message):
    with pytest.raises(OptionsError, match=message):
        parse_detail(detail)


def test_updated_leaves_the_original_alone_and_mask_follows_slots():
    opts = DriverOptions()
    new = opts.updated({"disabled_events": ["connect"]})
    assert opts.disabled_events == frozenset() and new.disabled_events == {datatypes.CONNECT}
    assert new.disabled_mask({datatypes.CONNECT: 3, datatypes.EXECVE: 0}) == 1 << 3
    assert new.as_json()["disabled_events"] == [datatypes.CONNECT]
