"""Simulated agents: N mutual-TLS Transfer streams sending records at a fixed rate.

Each agent is one gRPC channel (its own TLS connection and certificate) and
one Transfer stream, like ``elkeid agent``. Every ``batch_interval`` it sends
one PackagedData with ``rate * batch_interval`` records and the next seq; the
time from writing a batch to receiving an ``ack_seq`` that covers it is its
ack latency (an ack means durably stored). Messages are assembled from
pre-encoded bytes (protobuf messages concatenate) so the generator spends its
CPU on the network, not on encoding.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import anyio
import grpc

from elkeid import datatypes
from elkeid.proto import transfer_pb2

from ._identities import Identity

log = logging.getLogger(__name__)

#: A typical execve event (data_type 59) with its enrichment, about 700 bytes encoded.
SAMPLE_FIELDS = {
    "uid": "0", "exe": "/usr/bin/curl", "pid": "43121", "ppid": "43119", "pgid": "43119", "tgid": "43121",
    "sid": "1021", "comm": "curl", "nodename": "web-7", "sessionid": "4", "pns": "4026531836",
    "root_pns": "4026531836", "argv": "curl -fsSL https://example.org/install.sh -o /tmp/i.sh",
    "ppid_argv": "bash -c curl -fsSL https://example.org/install.sh -o /tmp/i.sh", "pgid_argv": "bash",
    "username": "root", "pod_name": "", "exe_hash": "9c2a4f31d0e1b7a6",
    "pid_tree": "43121.curl<43119.bash<1021.sshd<1.systemd", "p_exe": "/usr/bin/bash", "run_path": "/root",
    "stdin": "/dev/pts/0", "stdout": "/dev/pts/0", "dip": "", "dport": "", "sip": "", "sport": "",
    "sa_family": "", "tty": "pts0", "socket_pid": "", "ssh": "198.51.100.4 51234 10.0.0.7 22", "ld_preload": "",
    "res": "0",
}  # fmt: skip


def _records_blob(n: int) -> bytes:
    """``n`` execve records as the bytes of field 1 of a PackagedData (timestamp 0: the server stamps it)."""
    payload = transfer_pb2.Payload(fields=SAMPLE_FIELDS).SerializeToString()
    pd = transfer_pb2.PackagedData()
    for _ in range(n):
        pd.records.add(data_type=datatypes.EXECVE, timestamp=0, data=payload)
    return pd.SerializeToString()


@dataclass
class Stats:
    connected: int = 0
    refused: int = 0
    batches_sent: int = 0
    records_sent: int = 0
    records_acked: int = 0
    latencies: list[float] = field(default_factory=list)
    first_sent: float = 0.0  # monotonic time of the first records batch
    last_acked: float = 0.0  # monotonic time of the last ack that covered records
    errors: dict[str, int] = field(default_factory=dict)


class SimulatedAgent:
    def __init__(self, ident: Identity, stats: Stats, rate: float, interval: float, address: str) -> None:
        self.ident = ident
        self.stats = stats
        self.rate = rate
        self.interval = interval
        self.address = address
        self.pending: dict[int, tuple[float, int]] = {}  # seq -> (sent at, records)
        self.all_acked = anyio.Event()
        self.sending_done = False
        self.seq = int(time.time() * 1_000_000)
        self._agent_part = transfer_pb2.PackagedData(agent_id=ident.agent_id).SerializeToString()
        self._blobs: dict[int, bytes] = {}

    def _message(self, n: int, first: bool) -> bytes:
        self.seq += 1
        blob = self._blobs.get(n)
        if blob is None:
            blob = self._blobs[n] = _records_blob(n)
        parts = [blob, self._agent_part, transfer_pb2.PackagedData(seq=self.seq).SerializeToString()]
        if first:
            heartbeat = transfer_pb2.PackagedData()
            heartbeat.records.add(data_type=datatypes.AGENT_HEARTBEAT, timestamp=0,
                                  data=transfer_pb2.Payload(fields={"kernel_version": "bench"}).SerializeToString())
            parts.append(heartbeat.SerializeToString())
            parts.append(transfer_pb2.PackagedData(hostname=self.ident.agent_id, version="bench").SerializeToString())
            n += 1
        now = time.monotonic()
        if not first and not self.stats.first_sent:
            self.stats.first_sent = now
        self.pending[self.seq] = (now, n)
        self.stats.records_sent += n
        self.stats.batches_sent += 1
        return b"".join(parts)

    async def run(self, until: float, drain: float) -> None:
        creds = grpc.ssl_channel_credentials(root_certificates=self.ident.ca_pem.encode(),
                                             private_key=self.ident.key_pem.encode(),
                                             certificate_chain=self.ident.cert_pem.encode())  # fmt: skip
        async with grpc.aio.secure_channel(self.address, creds, options=[("grpc.use_local_subchannel_pool", 1)]) as ch:
            call = ch.stream_stream("/grpc.Transfer/Transfer", request_serializer=None, response_deserializer=None)()
            try:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._acks, call)
                    await self._send(call, until)
                    with anyio.move_on_after(drain):
                        await self.all_acked.wait()
                    tg.cancel_scope.cancel()
            except* grpc.aio.AioRpcError as group:
                err = group.exceptions[0]
                key = f"{err.code().name}: {err.details()[:120]}"
                self.stats.errors[key] = self.stats.errors.get(key, 0) + 1
                if err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                    self.stats.refused += 1
            finally:
                call.cancel()

    async def _send(self, call, until: float) -> None:
        await call.write(self._message(0, first=True))
        carry = random.random()  # spread agents' batch sizes and phases
        await anyio.sleep(random.uniform(0, self.interval))
        next_at = time.monotonic()
        while time.monotonic() < until:
            carry += self.rate * self.interval
            n = int(carry)
            carry -= n
            if n:
                await call.write(self._message(n, first=False))
            next_at += self.interval
            await anyio.sleep(max(0.0, next_at - time.monotonic()))
        self.sending_done = True
        if not self.pending:
            self.all_acked.set()

    async def _acks(self, call) -> None:
        connected = False
        while True:
            raw = await call.read()
            if raw is grpc.aio.EOF:
                return
            command = transfer_pb2.Command.FromString(raw)
            if not connected:
                connected = True
                self.stats.connected += 1
            now = time.monotonic()
            for seq in [s for s in self.pending if s <= command.ack_seq]:
                sent, n = self.pending.pop(seq)
                self.stats.latencies.append(now - sent)
                self.stats.records_acked += n
                self.stats.last_acked = now
            if self.sending_done and not self.pending:
                self.all_acked.set()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def run_agents(idents: list[Identity], *, rate: float, duration: float, interval: float,
                     address: str | Sequence[str] | None, ramp: float, drain: float = 30.0,
                     progress=None) -> tuple[Stats, float]:  # fmt: skip
    """Run every simulated agent for ``duration`` seconds after ``ramp`` seconds of connecting.

    ``address``: the agent center(s) to dial, agents spread over several in turn
    (several servers on one database); None: each identity's enrolled address.
    Returns the stats and the measured sending window in seconds.
    """
    stats = Stats()
    start = time.monotonic()
    until = start + ramp + duration
    addresses = [address] if isinstance(address, str) else list(address or [])
    agents = [SimulatedAgent(ident, stats, rate, interval, addresses[n % len(addresses)] if addresses else ident.grpc[0])
              for n, ident in enumerate(idents)]  # fmt: skip
    async with anyio.create_task_group() as tg:
        for n, agent in enumerate(agents):
            tg.start_soon(agent.run, until, drain)
            # Stagger connections over the ramp (TLS handshakes are the costly part).
            await anyio.sleep(ramp / max(1, len(agents)))
        if progress:
            tg.start_soon(progress, stats, until)
    return stats, time.monotonic() - start
