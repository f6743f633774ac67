"""Enrolled identities for simulated agents: real enrollment tokens, real CSRs, cached on disk.

Tokens are made through the server's store (as ``elkeid token create`` does,
so the server's data directory must be readable); each simulated agent then
enrolls over HTTPS exactly like ``elkeid agent`` does. The identities are kept
in ``state_dir/identities.jsonl`` and reused by later runs.
"""

from __future__ import annotations

import json
import logging
import secrets
import ssl
from dataclasses import asdict, dataclass
from pathlib import Path

import anyio
import httpx

from elkeid import pki

log = logging.getLogger(__name__)

ENROLL_CONCURRENCY = 8


@dataclass
class Identity:
    agent_id: str
    key_pem: str
    cert_pem: str
    ca_pem: str
    grpc: list[str]


def load_identities(state_dir: Path) -> list[Identity]:
    path = state_dir / "identities.jsonl"
    if not path.exists():
        return []
    return [Identity(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


async def ensure_identities(state_dir: Path, count: int, server_url: str, server_data_dir: Path, db_url: str = "") -> list[Identity]:
    """At least ``count`` enrolled identities (enrolling the missing ones); returns the first ``count``.

    Raises:
        httpx.HTTPError, elkeid.server.store.StoreError: the server cannot be reached or refuses.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    have = load_identities(state_dir)
    missing = count - len(have)
    if missing <= 0:
        return have[:count]
    ca_pem = (server_data_dir / "pki" / "ca.crt").read_text()
    tokens = await anyio.to_thread.run_sync(_make_tokens, server_data_dir, db_url, missing)
    prefix = _prefix(state_dir)
    ctx = ssl.create_default_context(cadata=ca_pem)
    new: list[Identity] = []
    limiter = anyio.CapacityLimiter(ENROLL_CONCURRENCY)
    async with httpx.AsyncClient(base_url=server_url, verify=ctx, timeout=60) as client:

        async def one(index: int, token: str) -> None:
            async with limiter:
                agent_id = f"{prefix}-{index:05d}"
                key = await anyio.to_thread.run_sync(pki.generate_key)
                csr = pki.make_csr(key, agent_id)
                r = await client.post("/api/v1/enroll", json={"token": token, "agent_id": agent_id, "csr": csr.decode(),
                                                              "hostname": agent_id})  # fmt: skip
                r.raise_for_status()
                body = r.json()
                new.append(Identity(agent_id, pki.key_pem(key).decode(), body["certificate"], ca_pem, body["grpc"]))

        async with anyio.create_task_group() as tg:
            for i, token in enumerate(tokens, start=len(have)):
                tg.start_soon(one, i, token)
    new.sort(key=lambda ident: ident.agent_id)
    with (state_dir / "identities.jsonl").open("a") as fh:
        for ident in new:
            fh.write(json.dumps(asdict(ident)) + "\n")
    log.info("enrolled %d simulated agents", len(new))
    return (have + new)[:count]


def _prefix(state_dir: Path) -> str:
    path = state_dir / "prefix"
    if not path.exists():
        path.write_text(f"bench-{secrets.token_hex(3)}")
    return path.read_text().strip()


def _make_tokens(server_data_dir: Path, db_url: str, n: int) -> list[str]:
    from elkeid.config import ServerConfig
    from elkeid.server import open_store

    store = open_store(ServerConfig(data_dir=server_data_dir, db_url=db_url))
    try:
        return [store.create_enroll_token(3600, created_by="bench", note="elkeid bench agents")[0] for _ in range(n)]
    finally:
        store.close()
