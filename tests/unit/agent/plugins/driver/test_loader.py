"""bcc errors become ours, with the compiler's own words in the message."""

from __future__ import annotations

import sys

import pytest

from elkeid.agent.plugins.driver import BccMissing, ProbeLoadError
from elkeid.agent.plugins.driver._headers import find_headers
from elkeid.agent.plugins.driver._loader import _first_errors, load
from elkeid.agent.plugins.driver._probes import ProbePlan
from tests.bpf._harness import bpf_unavailable_reason


@pytest.mark.bpf
def test_a_program_that_does_not_compile_is_a_probe_load_error_quoting_the_compiler():
    reason = bpf_unavailable_reason()
    if reason:
        pytest.skip(f"eBPF is unavailable here: {reason}")
    broken = ProbePlan(groups=(), missing=(), tracepoints=frozenset(), cflags=("-DRINGBUF_PAGES=1",))
    with pytest.raises(ProbeLoadError, match=r"bcc could not build the probes against .* headers: .*error: .*NSLOTS"):
        load(broken, find_headers())


def test_without_bcc_the_reason_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "bcc", None)  # as if python3-bpfcc were not installed
    plan = ProbePlan(groups=(), missing=(), tracepoints=frozenset(), cflags=())
    with pytest.raises(BccMissing, match="install Debian's python3-bpfcc"):
        load(plan, find_headers())


def test_first_errors_prefers_error_lines():
    out = "/virtual/main.c:3:1: warning: x\n/virtual/main.c:9:2: error: use of undeclared identifier 'NSLOTS'\n1 error"
    assert _first_errors(out) == "/virtual/main.c:9:2: error: use of undeclared identifier 'NSLOTS' | 1 error"
    assert _first_errors("only a warning") == "only a warning"
