"""A hand-driven agent: an enrolled certificate holding a real Transfer stream (mTLS gRPC).

It stands in for an agent where a test must answer tasks or read configs
exactly (the agent core does not answer tasks yet): it sends a heartbeat first,
collects every Command the server sends, and sends records on demand.
"""

from __future__ import annotations

import queue
import threading
import time

import grpc

from elkeid.proto import transfer_pb2, transfer_pb2_grpc
from tests.integration._grpc_client import channel, enroll_identity, heartbeat_batch

_CLOSE = object()


class AgentStream:
    def __init__(self, server, agent_id: str, **heartbeat: str) -> None:
        self.server = server
        self.agent_id = agent_id
        self.heartbeat = {"platform": "debian", "platform_family": "debian", "arch": "x86_64", **heartbeat}
        self.key, self.cert = enroll_identity(server, agent_id)
        self.commands: queue.Queue = queue.Queue()
        self._backlog: list[transfer_pb2.Command] = []
        self.error: grpc.RpcError | None = None
        self._seq = 0
        self._out: queue.Queue = queue.Queue()
        self._chan = None
        self._call = None
        self._reader: threading.Thread | None = None

    def _next_seq(self) -> int:
        self._seq = max(self._seq + 1, time.time_ns() // 1000)
        return self._seq

    def connect(self, timeout: float = 15) -> "AgentStream":
        """Open the stream and wait for the server to acknowledge the first heartbeat."""
        self.commands = queue.Queue()
        self._backlog = []
        self.error = None
        self._out = queue.Queue()
        self._chan = channel(self.server, self.key, self.cert)
        first = heartbeat_batch(self.agent_id, self._next_seq(), **self.heartbeat)
        out = self._out

        def requests():
            yield first
            while True:
                msg = out.get()
                if msg is _CLOSE:
                    return
                yield msg

        self._call = transfer_pb2_grpc.TransferStub(self._chan).Transfer(requests())
        self._reader = threading.Thread(target=self._read, args=(self._call, self.commands), daemon=True)
        self._reader.start()
        self.wait_for(lambda c: c.ack_seq >= first.seq, timeout, "the first acknowledgement")
        return self

    def _read(self, call, sink: queue.Queue) -> None:
        try:
            for command in call:
                sink.put(command)
        except grpc.RpcError as exc:
            self.error = exc
        finally:
            sink.put(None)

    def wait_for(self, predicate, timeout: float = 15, what: str = "a command") -> transfer_pb2.Command:
        """The oldest Command matching ``predicate``; others stay for later calls. Raises AssertionError."""
        for i, command in enumerate(self._backlog):
            if predicate(command):
                return self._backlog.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"agent {self.agent_id}: no {what} within {timeout}s")
            try:
                command = self.commands.get(timeout=left)
            except queue.Empty:
                continue
            if command is None:
                self.commands.put(None)  # stays ended for the next caller
                raise AssertionError(f"agent {self.agent_id}: stream ended before {what}: {self.error}")
            if predicate(command):
                return command
            if not command.ack_seq or command.HasField("task") or len(command.configs):
                self._backlog.append(command)

    def wait_task(self, timeout: float = 15) -> transfer_pb2.Task:
        return self.wait_for(lambda c: c.HasField("task"), timeout, "task").task

    def wait_configs(self, timeout: float = 15) -> list[transfer_pb2.Config]:
        """The plugins of the next config push that names at least one (the agent's own entry left out)."""
        command = self.wait_for(lambda c: len(plugin_configs(c)) > 0, timeout, "config push")
        return plugin_configs(command)

    def wait_empty_configs(self, timeout: float = 15) -> transfer_pb2.Command:
        """The next push of a set without plugins (it names only the agent itself)."""
        return self.wait_for(lambda c: len(c.configs) > 0 and not plugin_configs(c), timeout, "empty config push")

    def no_task_for(self, seconds: float) -> bool:
        try:
            self.wait_for(lambda c: c.HasField("task"), seconds, "task")
        except AssertionError:
            return True
        return False

    def send(self, data_type: int, fields: dict[str, str]) -> int:
        """Send one record in its own batch; returns the batch's seq."""
        pd = transfer_pb2.PackagedData(agent_id=self.agent_id, seq=self._next_seq())
        pd.records.add(data_type=data_type, timestamp=int(time.time()),
                       data=transfer_pb2.Payload(fields=fields).SerializeToString())  # fmt: skip
        self._out.put(pd)
        return pd.seq

    def wait_closed(self, timeout: float = 15) -> grpc.RpcError | None:
        """Wait for the server to end the stream; returns the status it ended with."""
        self._reader.join(timeout)
        assert not self._reader.is_alive(), f"agent {self.agent_id}: stream still open after {timeout}s"
        return self.error

    def close(self) -> None:
        if self._call is not None:
            self._out.put(_CLOSE)
            self._call.cancel()
            self._reader.join(10)
            self._chan.close()
            self._call = None

    def __enter__(self) -> "AgentStream":
        return self.connect()

    def __exit__(self, *exc) -> None:
        self.close()


def plugin_configs(command: transfer_pb2.Command) -> list[transfer_pb2.Config]:
    """A pushed set's plugins: every entry but ``elkeid-agent``, which is the agent itself."""
    return [c for c in command.configs if c.name != "elkeid-agent"]
