"""The load generator enrolls real identities and every record it sends is acknowledged and stored."""

from __future__ import annotations

import anyio
import pytest

from elkeid.bench._identities import ensure_identities, load_identities
from elkeid.bench._loadgen import percentile, run_agents
from tests.unit.server._inproc import running_server

pytestmark = pytest.mark.anyio


async def test_simulated_agents_are_stored_without_loss(tmp_path):
    async with running_server(tmp_path / "srv") as ctx:
        url = f"https://127.0.0.1:{ctx.https_port}"
        idents = await ensure_identities(tmp_path / "state", 3, url, ctx.config.data_dir)
        assert len(idents) == 3 and len({i.agent_id for i in idents}) == 3
        # A second call reuses what is on disk.
        assert [i.agent_id for i in await ensure_identities(tmp_path / "state", 2, url, ctx.config.data_dir)] == \
            [i.agent_id for i in idents[:2]]  # fmt: skip
        assert len(load_identities(tmp_path / "state")) == 3
        stats, _ = await run_agents(idents, rate=200, duration=1.5, interval=0.1, address=f"127.0.0.1:{ctx.grpc_port}",
                                    ramp=0.1, drain=15)  # fmt: skip
        assert stats.connected == 3 and not stats.errors
        assert stats.records_sent == stats.records_acked > 3 * 200
        stored = sum([await anyio.to_thread.run_sync(ctx.store.count_events, i.agent_id) for i in idents])
        assert stored == stats.records_sent


def test_percentile():
    assert percentile([], 99) == 0.0
    assert percentile([float(i) for i in range(1, 101)], 99) == 99.0
    assert percentile([5.0], 50) == 5.0
