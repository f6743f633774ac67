from __future__ import annotations

from elkeid.agent.plugins.driver import DriverOptions
from elkeid.agent.plugins.driver._noise import NoiseFilter, is_loopback


def test_loopback_and_link_local_addresses():
    for ip in ("127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1", "fe80::1", "FE80::abcd", "febf::1"):
        assert is_loopback(ip), ip
    for ip in ("10.0.0.1", "128.0.0.1", "::2", "fec0::1", "2001:db8::1", "", "fe.example"):
        assert not is_loopback(ip), ip


def test_allowlist_by_exact_exe_and_argv_prefix():
    nf = NoiseFilter(DriverOptions(allow_exe=frozenset({"/opt/agent"}), allow_argv=("python3 -m backup",)))
    assert nf.allowlisted("/opt/agent", "")
    assert not nf.allowlisted("/opt/agent2", "python3 -m http.server")
    assert nf.allowlisted("/usr/bin/python3", "python3 -m backup --full")


def test_a_flooding_exe_is_muted_for_a_while_and_system_folders_never():
    nf = NoiseFilter(DriverOptions(flood_rate=2, flood_window=10, flood_mute_seconds=100))
    assert all(nf.flooding("/tmp/x", 1.0 + i * 0.1) == 0 for i in range(20))
    assert nf.flooding("/tmp/x", 3.2) == 103.2
    assert nf.flooding("/tmp/x", 50) == 103.2 and nf.muted_exes(50) == 1
    assert nf.flooding("/tmp/x", 104) == 0 and nf.muted_exes(104) == 0
    assert all(nf.flooding("/usr/bin/curl", i * 0.01) == 0 for i in range(1000))
    off = NoiseFilter(DriverOptions(flood_rate=0))
    assert all(off.flooding("/tmp/x", i * 0.001) == 0 for i in range(1000))


def test_flood_windows_restart():
    nf = NoiseFilter(DriverOptions(flood_rate=1, flood_window=10))
    for t in range(10):
        assert nf.flooding("/tmp/y", t * 1.0) == 0  # 10 events in 10 s: at the limit
    assert nf.flooding("/tmp/y", 11.0) == 0  # a new window


def test_identical_connects_within_the_window():
    nf = NoiseFilter(DriverOptions(connect_dedup_seconds=30))
    key = (1, "/usr/bin/curl", "1.1.1.1", 443, 0)
    assert not nf.duplicate_connect(key, 0)
    assert nf.duplicate_connect(key, 29)
    assert not nf.duplicate_connect(key, 60)
    assert not nf.duplicate_connect(key[:3] + (80, 0), 61)
    assert not NoiseFilter(DriverOptions(connect_dedup_seconds=0)).duplicate_connect(key, 0)


def test_global_cap_is_a_token_bucket():
    nf = NoiseFilter(DriverOptions(max_eps=10))
    allowed = sum(not nf.over_rate(100.0 + i * 0.001) for i in range(1000))  # 1000 events in 1 s
    assert 5 <= allowed <= 25
    assert not NoiseFilter(DriverOptions()).over_rate(0)
