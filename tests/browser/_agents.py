"""Agents for browser tests: real ``elkeid agent`` processes, and a hand-driven gRPC agent
whose records carry whatever hostile strings a test wants."""

from __future__ import annotations

import queue
import subprocess
import sys
import time
from pathlib import Path

import grpc

from elkeid import datatypes
from elkeid.proto import transfer_pb2, transfer_pb2_grpc
from tests._support import AgentProcess, LogReader, child_env
from tests.integration._grpc_client import channel, enroll_identity


def agent_with_hostname(data_dir: Path, agent_id: str, hostname: str, server, token: str) -> AgentProcess:
    """A real agent process in its own UTS namespace whose host name is ``hostname``.

    ``unshare --uts`` gives the child a private host name, set with sethostname(2) (which
    takes any bytes the kernel allows, up to 64), then the agent runs as usual.
    """
    agent = AgentProcess(data_dir, agent_id)
    data_dir.mkdir(parents=True, exist_ok=True)
    prelude = "import os, socket, sys; socket.sethostname(sys.argv[1]); os.execv(sys.executable, [sys.executable] + sys.argv[2:])"
    args = ["unshare", "--uts", "--", sys.executable, "-c", prelude, hostname, "-m", "elkeid", "agent",
            "--data-dir", str(data_dir), "--server", server.url, "--token", token, "--ca-sha256", server.ca_sha256]  # fmt: skip
    agent.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                  env=child_env(SPECIFIED_AGENT_ID=agent_id), start_new_session=True)  # fmt: skip
    agent.log = LogReader(agent.proc.stdout, data_dir / "agent.log")
    return agent


def _record(data_type: int, **fields: str) -> transfer_pb2.EncodedRecord:
    payload = transfer_pb2.Payload(fields=fields)
    return transfer_pb2.EncodedRecord(data_type=data_type, timestamp=1, data=payload.SerializeToString())


class ScriptedAgent:
    """An enrolled agent identity holding a real mTLS stream open while a test looks at the console.

    It sends one batch (host fields and ``records``), waits for the server's ack, and keeps
    the stream until :meth:`close`, so the host shows online. :meth:`answer_task` waits for
    a Task the server pushes and answers it with whatever fields a test wants.
    """

    def __init__(self, server, agent_id: str, *, hostname: str, records: list[transfer_pb2.EncodedRecord]) -> None:
        key, cert = enroll_identity(server, agent_id)
        self._channel = channel(server, key, cert)
        self.agent_id = agent_id
        self.hostname = hostname
        pd = transfer_pb2.PackagedData(agent_id=agent_id, seq=1, hostname=hostname, version="test",
                                       product="scripted", intranet_ipv4=["10.9.8.7"])  # fmt: skip
        pd.records.extend(records)
        self._outbox: queue.Queue[transfer_pb2.PackagedData | None] = queue.Queue()
        self._outbox.put(pd)
        self._seq = 1

        def requests():
            while (item := self._outbox.get(timeout=180)) is not None:
                yield item

        self._call = transfer_pb2_grpc.TransferStub(self._channel).Transfer(requests(), timeout=180)
        # The server may push the plugin config set before it acknowledges.
        first = next(c for c in self._call if c.ack_seq)
        assert first.ack_seq == 1, first

    def answer_task(self, fields: dict[str, str], timeout: float = 30) -> transfer_pb2.Task:
        """Wait for the next Task, answer it with a record of its data_type carrying its token and ``fields``."""
        deadline = time.monotonic() + timeout
        for command in self._call:
            if command.HasField("task") and command.task.token:
                task = command.task
                break
            if time.monotonic() > deadline:
                raise TimeoutError("no task came")
        self._seq += 1
        pd = transfer_pb2.PackagedData(agent_id=self.agent_id, seq=self._seq, hostname="", version="test")
        pd.records.append(_record(task.data_type, token=task.token, **fields))
        self._outbox.put(pd)
        return task

    def send(self, records: list[transfer_pb2.EncodedRecord], timeout: float = 30) -> None:
        """Send one more batch of ``records`` on the open stream and wait for the server's ack."""
        self._seq += 1
        pd = transfer_pb2.PackagedData(agent_id=self.agent_id, seq=self._seq, hostname=self.hostname, version="test")
        pd.records.extend(records)
        self._outbox.put(pd)
        deadline = time.monotonic() + timeout
        for command in self._call:
            if command.ack_seq == self._seq:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"batch {self._seq} was not acknowledged")

    def close(self) -> None:
        self._outbox.put(None)
        self._call.cancel()
        self._channel.close()


def hostile_records(text: str, attr: str) -> list[transfer_pb2.EncodedRecord]:
    """Heartbeats, a plugin heartbeat, a driver-unavailable and an error log, all carrying hostile text."""
    return [
        _record(datatypes.AGENT_HEARTBEAT, kernel_version=text, platform=attr, platform_version=text,
                state=text, state_detail=attr, spool_dropped="3", cpu_name=attr, idc=text, **{text: attr}),
        _record(datatypes.PLUGIN_HEARTBEAT, name=text, pversion=attr, state=attr, rss="1024"),
        _record(datatypes.DRIVER_UNAVAILABLE, reason=text, kernel_version=attr, arch="x86_64"),
        _record(datatypes.PLUGIN_ERROR, level="error", msg=attr, plugin=text, source="driver"),
    ]  # fmt: skip


__all__ = ["ScriptedAgent", "agent_with_hostname", "grpc", "hostile_records"]
