"""One real driver for the whole eBPF test session (compiling the probes takes seconds).

Tests filter records by their own pids: other programs run on this machine
at the same time and the driver reports them too.
"""

from __future__ import annotations

import pytest

from elkeid.agent.plugins.driver import DriverOptions
from tests.bpf._harness import DriverProcess, bpf_unavailable_reason

SESSION_STATUS_INTERVAL = 1


@pytest.fixture(scope="session")
def driver(tmp_path_factory) -> DriverProcess:
    reason = bpf_unavailable_reason()
    if reason:
        pytest.skip(f"eBPF is unavailable here: {reason}")
    proc = DriverProcess(tmp_path_factory.mktemp("driver"), {"status_interval": SESSION_STATUS_INTERVAL}).start()
    ready = proc.wait_ready(timeout=240)
    if ready.data_type != 900:
        proc.stop()
        pytest.fail(f"the driver could not load its probes on a host where eBPF should work: {ready.fields}")
    yield proc
    assert proc.stop() == 0, proc.log()


@pytest.fixture
def options(driver):
    """Set driver options for one test through a task; the defaults come back after it."""

    def set_options(**changes):
        reply = driver.task({"action": "options.set", "options": changes})
        assert reply["status"] == "ok", reply.fields
        return reply

    yield set_options
    defaults = {**DriverOptions().as_json(), "status_interval": SESSION_STATUS_INTERVAL}
    reply = driver.task({"action": "options.set", "options": defaults})
    assert reply["status"] == "ok", reply.fields
