from __future__ import annotations

import pytest

from elkeid.server.ac import PeerIdentity


@pytest.mark.parametrize(
    "peer, ip",
    [("ipv4:127.0.0.1:5555", "127.0.0.1"), ("ipv6:%5B::1%5D:49058", "::1"), ("ipv6:[fd00::2]:1", "fd00::2"), ("unix:/x", "")],
)
def test_source_ip_from_grpc_peer(peer, ip):
    assert PeerIdentity("a", "1", peer).source_ip == ip
