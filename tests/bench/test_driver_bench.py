"""Driver benchmarks (``make bench``): figures are printed, never asserted as timings.

* exec storm and connect storm: the highest offered rate at which every event
  arrived (no ring-buffer drops, nothing missing), and the driver's throughput;
* the driver's CPU and RSS while 1,000 execs per second run;
* per-exec overhead: a tight fork+exec loop timed without the driver, with it,
  and without it again, in the same run (the ratio is what counts).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from elkeid import datatypes
from tests.bpf._harness import DriverProcess, bpf_unavailable_reason

pytestmark = [pytest.mark.bpf, pytest.mark.slow]

CLK_TCK = os.sysconf("SC_CLK_TCK")

# Does one thing ("exec": spawn /bin/true, or "connect PORT") at a paced rate for a
# while; prints how many it did and how fast.
STORM = """
import os, socket, sys, time
what, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])

def once():
    if what == "exec":
        os.posix_spawn("/bin/true", ["/bin/true"], {})
    else:
        socket.create_connection(("127.0.0.1", int(what.split()[1]))).close()

def reap(block):
    while True:
        try:
            if os.waitpid(-1, 0 if block else os.WNOHANG)[0] == 0:
                return
        except ChildProcessError:
            return

n, start = 0, time.monotonic()
while time.monotonic() - start < seconds:
    due = int((time.monotonic() - start) * rate) + 1
    while n < due:
        once()
        n += 1
    reap(False)
    time.sleep(0.0005)
reap(True)
print(n, n / (time.monotonic() - start))
"""

# A tight fork+exec loop: prints wall seconds and CPU seconds (itself and its children,
# kernel time included: where the probes' cost lands).
TIGHT_LOOP = """
import os, resource, sys, time
n = int(sys.argv[1])
def cpu():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime
start, cpu0 = time.perf_counter(), cpu()
for _ in range(n):
    pid = os.fork()
    if pid == 0:
        os.execv("/bin/true", ["/bin/true"])
    os.waitpid(pid, 0)
print(time.perf_counter() - start, cpu() - cpu0)
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def memory_mib(pid: int) -> dict[str, float]:
    """RSS, and the part private to the process (USS: without bcc/LLVM's shared library pages)."""
    values = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Private_Clean", "Private_Dirty"):
            values[key] = int(rest.split()[0]) / 1024
    return {"rss_mib": round(values["Rss"], 1), "uss_mib": round(values["Private_Clean"] + values["Private_Dirty"], 1)}


def drops(driver: DriverProcess) -> int:
    return int(driver.status()["ringbuf_drops"])


def storm(driver, what: str, rate: int, seconds: int, data_type: int, settle: float = 3.0) -> dict:
    mark = driver.mark()
    before = drops(driver)
    gen = subprocess.Popen([sys.executable, "-c", STORM, what, str(rate), str(seconds)], stdout=subprocess.PIPE, text=True)
    out, _ = gen.communicate(timeout=600)
    spawned, offered = out.split()
    time.sleep(settle)
    if data_type == datatypes.EXECVE:
        mine = driver.matching(lambda r: r.data_type == data_type and r["ppid"] == str(gen.pid), mark)
    else:
        mine = driver.matching(lambda r: r.data_type == data_type and r["pid"] == str(gen.pid), mark)
    got = [r for r in mine]
    first = min((r.timestamp for r in got), default=0)
    last = max((r.timestamp for r in got), default=0)
    return {"offered_per_s": round(float(offered)), "spawned": int(spawned), "delivered": len(got),
            "ringbuf_drops": drops(driver) - before, "span_s": last - first}  # fmt: skip


def tight_loop(n: int) -> tuple[float, float]:
    out = subprocess.run([sys.executable, "-c", TIGHT_LOOP, str(n)], capture_output=True, text=True, check=True)
    wall, cpu = out.stdout.split()
    return float(wall), float(cpu)


def start_driver(path) -> DriverProcess:
    driver = DriverProcess(path, {"drop_loopback": False, "connect_dedup_seconds": 0, "flood_rate": 0,
                                  "status_interval": 5}).start()  # fmt: skip
    assert driver.wait_ready(240).data_type == datatypes.DRIVER_STATUS, driver.log()
    return driver


def storms(driver: DriverProcess, results: dict) -> None:
    # exec storm: offered rates rising until something is lost or the machine cannot spawn faster
    results["exec_storm"] = []
    for rate in (250, 500, 1000, 2000, 4000):
        row = storm(driver, "exec", rate, 5, datatypes.EXECVE)
        results["exec_storm"].append(row)
        print(f"exec storm {rate}/s offered: {row}", flush=True)
        if row["delivered"] < row["spawned"] or row["ringbuf_drops"]:
            break

    # driver CPU and memory at 1,000 exec/s for 10 s
    cpu0, t0 = cpu_seconds(driver.pid), time.monotonic()
    row = storm(driver, "exec", 1000, 10, datatypes.EXECVE, settle=0.5)
    cpu1, t1 = cpu_seconds(driver.pid), time.monotonic()
    results["at_1000_exec_per_s"] = {**row, "driver_cpu_percent_of_one_core": round(100 * (cpu1 - cpu0) / (t1 - t0), 1),
                                     **memory_mib(driver.pid)}  # fmt: skip
    print(f"at 1,000 exec/s: {results['at_1000_exec_per_s']}", flush=True)

    # connect storm against a local listener
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4096)
    stop = threading.Event()

    def serve():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                conn.close()
            except OSError:
                continue

    threading.Thread(target=serve, daemon=True).start()
    results["connect_storm"] = []
    try:
        for rate in (1000, 2000, 4000, 6000, 8000):
            row = storm(driver, f"connect {srv.getsockname()[1]}", rate, 5, datatypes.CONNECT)
            results["connect_storm"].append(row)
            print(f"connect storm {rate}/s offered: {row}", flush=True)
            if row["delivered"] < row["spawned"] or row["ringbuf_drops"]:
                break
    finally:
        stop.set()
        srv.close()


def test_driver_benchmarks(tmp_path, request):
    if not any("bench" in arg for arg in request.config.args):
        pytest.skip("a benchmark: run it with `make bench` (pytest tests/bench)")
    reason = bpf_unavailable_reason()
    if reason:
        pytest.skip(f"eBPF is unavailable here: {reason}")
    results: dict = {"cpus": os.cpu_count()}

    # per-exec overhead: interleaved rounds of (without, with) so that load from elsewhere
    # hits both alike; the least disturbed round of each kind is compared
    loops, rounds = 400, 5
    without, with_ = [], []
    for i in range(rounds):
        without.append(tight_loop(loops))
        driver = start_driver(tmp_path / f"driver{i}")
        try:
            with_.append(tight_loop(loops))
            if i == 0:
                results["idle_memory"] = memory_mib(driver.pid)
                storms(driver, results)
        finally:
            driver.stop()
    without.append(tight_loop(loops))

    base_wall, base_cpu = min(w for w, _ in without), min(c for _, c in without)
    on_wall, on_cpu = min(w for w, _ in with_), min(c for _, c in with_)
    results["per_exec"] = {
        "loops": loops, "rounds": rounds,
        "without_driver_us": round(1e6 * base_wall / loops, 1),
        "with_driver_us": round(1e6 * on_wall / loops, 1),
        "slowdown_ratio_wall": round(on_wall / base_wall, 3),
        "slowdown_ratio_cpu": round(on_cpu / base_cpu, 3),
        "samples_without_us": [round(1e6 * w / loops) for w, _ in without],
        "samples_with_us": [round(1e6 * w / loops) for w, _ in with_],
    }  # fmt: skip
    print(f"per-exec overhead: {results['per_exec']}", flush=True)
    print("DRIVER-BENCH " + json.dumps(results), flush=True)
