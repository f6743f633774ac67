"""Agent heartbeat (data_type 1000) and host facts (PackagedData host fields).

Figures are read from /proc and /sys (through psutil where it has them); speeds
are deltas since the previous heartbeat.
"""

from __future__ import annotations

import ipaddress
import os
import platform
import socket
import time
from pathlib import Path
from typing import Callable

import psutil

from elkeid import __version__

from ._procstats import ProcessSampler, dir_size

PRODUCT = "elkeid-agent"


def _read(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace").strip()
    except OSError:
        return ""


def os_release() -> dict[str, str]:
    out: dict[str, str] = {}
    for line in _read("/etc/os-release").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key] = value.strip().strip('"')
    return out


def _cpu_name() -> str:
    for line in _read("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor()


def _dns() -> str:
    servers = [ln.split()[1] for ln in _read("/etc/resolv.conf").splitlines() if ln.startswith("nameserver ") and len(ln.split()) > 1]
    return ",".join(servers)


def _gateway() -> str:
    for line in _read("/proc/net/route").splitlines()[1:]:
        parts = line.split()
        if len(parts) > 2 and parts[1] == "00000000":
            return socket.inet_ntoa(int(parts[2], 16).to_bytes(4, "little"))
    return ""


def host_addresses() -> dict[str, list[str]]:
    """Addresses by Elkeid's split: intranet (private) and extranet (global), v4 and v6."""
    out = {"intranet_ipv4": [], "extranet_ipv4": [], "intranet_ipv6": [], "extranet_ipv6": []}
    for _nic, addrs in psutil.net_if_addrs().items():
        for a in addrs:
            if a.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            try:
                ip = ipaddress.ip_address(a.address.split("%")[0])
            except ValueError:
                continue
            if ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_unspecified:
                continue
            v = "ipv4" if ip.version == 4 else "ipv6"
            kind = "intranet" if ip.is_private else "extranet"
            if str(ip) not in out[f"{kind}_{v}"]:
                out[f"{kind}_{v}"].append(str(ip))
    return out


def host_fields() -> dict:
    """The PackagedData host fields (first message of a stream)."""
    return {"hostname": socket.gethostname(), "version": __version__, "product": PRODUCT, **host_addresses()}


class AgentHeartbeat:
    """Builds successive 1000 records; call :meth:`collect` from a worker thread."""

    def __init__(self, data_dir: Path, *, traffic=None, extra: Callable[[], dict[str, str]] | None = None) -> None:
        self.data_dir = data_dir
        self.sampler = ProcessSampler(os.getpid())
        psutil.cpu_percent(None)
        self.traffic = traffic  # object with tx_bytes, rx_bytes, tx_msgs, rx_msgs counters
        self.idc = ""
        self.region = ""
        self.state = "running"
        self.state_detail = ""
        #: Called on every collect for fields beyond Elkeid's (spool, limits, plugins).
        self.extra = extra or dict
        self._last = self._counters()
        self._release = os_release()
        self._static = {
            "kernel_version": platform.release(),
            "arch": platform.machine(),
            "platform": self._release.get("ID", platform.system().lower()),
            "platform_family": (self._release.get("ID_LIKE", "") or self._release.get("ID", "")).split()[0]
            if (self._release.get("ID_LIKE") or self._release.get("ID"))
            else "",
            "platform_version": self._release.get("VERSION_ID", ""),
            "net_mode": "direct",
            "nproc": str(psutil.cpu_count() or 0),
            "host_serial": _read("/sys/class/dmi/id/product_serial"),
            "host_id": _read("/sys/class/dmi/id/product_uuid"),
            "host_model": _read("/sys/class/dmi/id/product_name"),
            "host_vendor": _read("/sys/class/dmi/id/sys_vendor"),
            "cpu_name": _cpu_name(),
            "boot_time": str(int(psutil.boot_time())),
        }

    def _counters(self) -> dict[str, float]:
        t = self.traffic
        return {
            "t": time.monotonic(),
            "rx": getattr(t, "rx_bytes", 0),
            "tx": getattr(t, "tx_bytes", 0),
            "rx_msgs": getattr(t, "rx_msgs", 0),
            "tx_msgs": getattr(t, "tx_msgs", 0),
        }

    def collect(self) -> dict[str, str]:
        now = self._counters()
        last, self._last = self._last, now
        dt = max(now["t"] - last["t"], 1e-3)

        def rate(key: str) -> str:
            return f"{max(now[key] - last[key], 0) / dt:.2f}"

        load1, load5, load15 = os.getloadavg()
        running, total = "0", "0"
        parts = _read("/proc/loadavg").split()
        if len(parts) >= 4 and "/" in parts[3]:
            running, total = parts[3].split("/", 1)
        vm = psutil.virtual_memory()
        fields = dict(self._static)
        fields.update(self.sampler.sample())  # pid, cpu, rss, nfd, read_speed, write_speed, start_time
        fields.update(
            {
                "state": self.state,
                "state_detail": self.state_detail,
                "idc": self.idc,
                "region": self.region,
                "rx_speed": rate("rx"),
                "tx_speed": rate("tx"),
                "rx_tps": rate("rx_msgs"),
                "tx_tps": rate("tx_msgs"),
                "du": str(dir_size(self.data_dir)),
                "total_mem": str(vm.total),
                "load_1": f"{load1:.2f}",
                "load_5": f"{load5:.2f}",
                "load_15": f"{load15:.2f}",
                "running_procs": running,
                "total_procs": total,
                "dns": _dns(),
                "gateway": _gateway(),
                "cpu_usage": f"{psutil.cpu_percent(None) / 100:.4f}",
                "mem_usage": f"{vm.percent / 100:.4f}",
            }
        )
        fields.update(self.extra())
        return fields
