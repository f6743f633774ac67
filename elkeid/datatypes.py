"""Every data_type number the system knows, with its name and fields.

This module is the only place that names data_type numbers (PROTOCOL.md, "Data
types"). Everything else refers to the constants below (``EXECVE``,
``AGENT_HEARTBEAT`` ...) or looks a type up with :func:`get` / :func:`by_name`.

A :class:`DataType` declares the fields a record of that type carries. Driver
events carry the common fields (:data:`COMMON_FIELDS`), the enrichment fields
(:data:`ENRICHMENT_FIELDS`) and ``p_exe`` besides their own; asset records carry
``package_seq`` so a snapshot can be told complete.

A field may declare its format after a colon (``"pid:uint!"``): see
:data:`FORMATS`; a trailing ``!`` means the value is never empty. Fields
without one are free text. :meth:`DataType.problems` checks a record against
its declaration (the collector's sanity tests, and the server on ingest).
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

__all__ = [
    "COMMON_FIELDS",
    "FORMATS",
    "ENRICHMENT_FIELDS",
    "DataType",
    "TASK_RESULT_TYPES",
    "Kind",
    "all_types",
    "by_name",
    "get",
]


class Kind:
    """Which part of the system produces a data type."""

    DRIVER = "driver"
    AGENT = "agent"
    ASSET = "asset"
    PLUGIN = "plugin"


#: Common fields of every driver event (C).
COMMON_FIELDS: tuple[str, ...] = (
    "uid", "exe", "pid", "ppid", "pgid", "tgid", "sid", "comm", "nodename",
    "sessionid", "pns", "root_pns",
)  # fmt: skip

#: Enrichment fields added in user space to every driver event (E), plus our additions
#: p_exe (the parent's executable) and container_id (from the cgroup path).
ENRICHMENT_FIELDS: tuple[str, ...] = (
    "argv", "ppid_argv", "pgid_argv", "username", "pod_name", "exe_hash", "pid_tree", "p_exe",
    "container_id",
)  # fmt: skip

_ASSET_COMMON = ("package_seq",)


def _is_ip(v: str) -> bool:
    try:
        ipaddress.ip_address(v.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _is_json(v: str) -> bool:
    try:
        json.loads(v)
    except ValueError:
        return False
    return True


def _is_fraction(v: str) -> bool:
    try:
        return 0.0 <= float(v) <= 1.0
    except ValueError:
        return False


def _matches(pattern: str) -> Callable[[str], bool]:
    rx = re.compile(pattern)
    return lambda v: rx.fullmatch(v) is not None


#: Field formats a declaration may name (``name:format``); values are always strings.
FORMATS: dict[str, Callable[[str], bool]] = {
    "int": _matches(r"-?[0-9]+"),
    "uint": _matches(r"[0-9]+"),
    "port": lambda v: v.isdigit() and int(v) <= 65535,
    "bool": lambda v: v in ("true", "false"),
    "ip": _is_ip,
    "unix": _matches(r"[0-9]+"),  # seconds since the epoch
    "hex": _matches(r"[0-9a-f]+"),
    "path": lambda v: v.startswith("/"),
    "fraction": _is_fraction,  # 0..1, like the heartbeat's mem_usage
    "json": _is_json,
}


@dataclass(frozen=True)
class DataType:
    """One data_type: its number, short name, producing kind and declared fields.

    ``fields`` lists every field a record of this type may carry, the common and
    enrichment fields included for driver events.
    """

    number: int
    name: str
    kind: str
    own_fields: tuple[str, ...]
    description: str = ""
    formats: Mapping[str, str] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    #: asset types: the fields naming one item across snapshots (the server's inventory key)
    key: tuple[str, ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        if self.kind == Kind.DRIVER:
            return COMMON_FIELDS + ENRICHMENT_FIELDS + self.own_fields
        if self.kind == Kind.ASSET:
            return self.own_fields + _ASSET_COMMON
        return self.own_fields

    def problems(self, fields: Mapping[str, str]) -> list[str]:
        """What is wrong with a record of this type: missing fields, empty required ones, bad formats."""
        out = []
        for name in self.fields:
            value = fields.get(name)
            if value is None:
                out.append(f"{self.name} ({self.number}): field {name!r} is missing")
            elif value == "":
                if name in self.required:
                    out.append(f"{self.name} ({self.number}): field {name!r} is empty")
            elif name in self.formats and not FORMATS[self.formats[name]](value):
                out.append(f"{self.name} ({self.number}): field {name!r}={value[:80]!r} is not {self.formats[name]}")
        return out


_REGISTRY: dict[int, DataType] = {}
_BY_NAME: dict[str, DataType] = {}


def _define(number: int, name: str, kind: str, fields: Iterable[str] | str = (), description: str = "",
            key: str = "") -> int:
    if isinstance(fields, str):
        fields = fields.split()
    names, formats, required = [], {}, set()
    for token in fields:
        fname, _, fmt = token.partition(":")
        if token.endswith("!"):
            fname, fmt = fname.rstrip("!"), fmt.rstrip("!")
            required.add(fname)
        if fmt:
            if fmt not in FORMATS:
                raise RuntimeError(f"data_type {number}: field {fname!r} has unknown format {fmt!r}")
            formats[fname] = fmt
        names.append(fname)
    if kind == Kind.ASSET:
        required.add("package_seq")
    if not set(key.split()) <= set(names):
        raise RuntimeError(f"data_type {number}: key {key!r} names undeclared fields")
    dt = DataType(number, name, kind, tuple(names), description, formats, frozenset(required), tuple(key.split()))
    if number in _REGISTRY or name in _BY_NAME:
        raise RuntimeError(f"data_type {number} / {name!r} defined twice")
    _REGISTRY[number] = dt
    _BY_NAME[name] = dt
    return number


_NET = "sa_family dip dport sip sport"

# --- driver events (eBPF) -------------------------------------------------------------
CONNECT = _define(42, "connect", Kind.DRIVER, f"{_NET} res", "outbound connect()")
ACCEPT = _define(43, "accept", Kind.DRIVER, f"{_NET} res", "inbound accept()")
BIND = _define(49, "bind", Kind.DRIVER, "sa_family sip sport res", "bind()")
EXECVE = _define(
    59,
    "execve",
    Kind.DRIVER,
    "run_path stdin stdout dip dport sip sport sa_family tty socket_pid ssh ld_preload res",
    "process execution",
)
EXIT = _define(60, "exit", Kind.DRIVER, (), "process exit")
KILL = _define(62, "kill", Kind.DRIVER, "target_pid sig", "kill()")
RENAME = _define(82, "rename", Kind.DRIVER, "old_name new_name sb_id", "rename()")
LINK = _define(86, "link", Kind.DRIVER, "old_name new_name sb_id", "link()")
PTRACE = _define(101, "ptrace", Kind.DRIVER, "ptrace_request target_pid addr data target_argv", "ptrace()")
SETSID = _define(112, "setsid", Kind.DRIVER, (), "setsid()")
PRCTL = _define(157, "prctl", Kind.DRIVER, "option new_name", "prctl(PR_SET_NAME)")
MOUNT = _define(165, "mount", Kind.DRIVER, "dev file_path fstype flags", "mount()")
MEMFD_CREATE = _define(356, "memfd_create", Kind.DRIVER, "fd_name flags", "memfd_create()")
DNS_QUERY = _define(601, "dns_query", Kind.DRIVER, f"query {_NET} opcode rcode", "DNS query (UDP to port 53)")
CREATE_FILE = _define(602, "create_file", Kind.DRIVER, f"file_path {_NET} socket_pid sb_id", "new file created")
LOAD_MODULE = _define(603, "load_module", Kind.DRIVER, "ko_file run_path", "kernel module loaded")
UPDATE_CRED = _define(604, "update_cred", Kind.DRIVER, "old_uid res old_username", "credentials raised to root")
USERMODEHELPER = _define(607, "call_usermodehelper", Kind.DRIVER, "exe argv wait", "kernel ran a user-mode helper")
PRIVILEGE_ESCALATION = _define(611, "privilege_escalation", Kind.DRIVER, "p_pid p_cred c_cred", "privilege escalation")
PORT_SCAN = _define(612, "port_scan", Kind.DRIVER, f"type {_NET} flags", "port scan")

# --- agent and plugin status -----------------------------------------------------------
AGENT_HEARTBEAT = _define(
    1000,
    "agent_heartbeat",
    Kind.AGENT,
    "kernel_version arch platform platform_family platform_version state state_detail idc region "
    "net_mode cpu rss read_speed write_speed rx_speed tx_speed rx_tps tx_tps pid nfd start_time du "
    "nproc total_mem load_1 load_5 load_15 running_procs total_procs host_serial host_id host_model "
    "host_vendor dns gateway cpu_name boot_time cpu_usage mem_usage",
    "agent heartbeat",
)
PLUGIN_HEARTBEAT = _define(
    1001,
    "plugin_heartbeat",
    Kind.AGENT,
    "name pversion cpu rss read_speed write_speed pid nfd start_time du rx_tps tx_tps rx_speed tx_speed",
    "plugin heartbeat",
)
AGENT_ERROR = _define(1010, "agent_error", Kind.AGENT, "level msg source plugin", "agent error log")
PLUGIN_ERROR = _define(1011, "plugin_error", Kind.AGENT, "level msg source plugin", "plugin error log")
DRIVER_STATUS = _define(
    900,
    "driver_status",
    Kind.PLUGIN,
    "state reason kernel_version headers probes missing_probes uptime received sent ringbuf_drops "
    "ringbuf_drops_by_type stash_drops kernel_muted ratelimit_drops flood_exes loopback_drops dedup_drops "
    "allowlist_drops create_undecided proc_gone decode_errors",
    "driver status and loss counters (cumulative since the driver started)",
)
DRIVER_UNAVAILABLE = _define(901, "driver_unavailable", Kind.PLUGIN, "reason kernel_version arch", "driver unavailable")
DRIVER_CONTROL = _define(
    902, "driver_control", Kind.PLUGIN, "status msg token", "driver task (allowlist, options, status) and its reply"
)

# --- core tasks (object_name "elkeid-agent") ------------------------------------------
TASK_UPLOAD_FILE = _define(1050, "task_upload_file", Kind.AGENT, "path token", "upload a file through FileExt")
TASK_SET_IDC = _define(1051, "task_set_idc", Kind.AGENT, "idc region", "set idc and region")
TASK_SHUTDOWN = _define(1060, "task_shutdown", Kind.AGENT, (), "shut the agent down")

# --- assets (collector) ----------------------------------------------------------------
# Formats and the identity key (``key``: unique within one snapshot) are documented in docs/assets.md.
ASSET_PROCESS = _define(
    5050,
    "process",
    Kind.ASSET,
    "pid:uint! ppid:uint pgid:uint sid:uint comm exe:path cmdline cwd:path state start_time:unix! "
    "uid:uint euid:uint username exe_hash:hex checksum:hex container_id container_name "
    "pns:uint root_pns:uint mnt_ns:uint net_ns:uint",
    "running processes",
    key="pid start_time",
)
ASSET_LISTEN_PORT = _define(
    5051,
    "listen_port",
    Kind.ASSET,
    "family:uint! protocol:uint! state:uint! sip:ip! sport:port! dip:ip dport:port uid:uint username "
    "inode:uint! pid:uint exe:path comm cmdline container_id",
    "listening TCP sockets and bound UDP sockets",
    key="protocol family sip sport",
)
ASSET_USER = _define(
    5052,
    "user",
    Kind.ASSET,
    "username! uid:uint! gid:uint! groupname home shell last_login_time:unix last_login_ip "
    "weak_password:bool! sudoers password_status!",
    "local users",
    key="username",
)
ASSET_CRON = _define(
    5053, "cron", Kind.ASSET, "path:path! username schedule! command! checksum:hex!", "cron and anacron entries",
    key="path username schedule command",
)
ASSET_SERVICE = _define(
    5054, "service", Kind.ASSET, "name! type command restart working_dir checksum:hex! path:path! user",
    "systemd services",
    key="name",
)  # fmt: skip
ASSET_SOFTWARE = _define(
    5055, "software", Kind.ASSET, "name! sversion type! source status vendor path arch pid:uint",
    "software packages: dpkg, rpm, pypi, npm, jar",
    key="type name arch path sversion",  # rpm keeps several versions of one package (kernel, gpg-pubkey)
)  # fmt: skip
ASSET_CONTAINER = _define(
    5056, "container", Kind.ASSET,
    "id! name state! image_id image_name pid:uint runtime! create_time:unix",
    "containers",
    key="id",
)  # fmt: skip
ASSET_INTEGRITY = _define(5057, "integrity", Kind.ASSET, "path digest origin_digest modify_time", "file integrity")
ASSET_VOLUME = _define(
    5058, "volume", Kind.ASSET, "mount_point:path! fstype! total:uint! used:uint! usage:fraction! device",
    "mounted file systems",
    key="mount_point",
)  # fmt: skip
ASSET_NIC = _define(
    5059, "net_interface", Kind.ASSET, "name! hardware_addr addrs mtu:uint! index:uint! state", "network interfaces",
    key="name",
)
ASSET_APP = _define(
    5060, "application", Kind.ASSET, "name! type! sversion conf exe:path! pid:uint! container_id",
    "known server applications found among processes",
    key="name exe conf container_id",
)  # fmt: skip
ASSET_KMOD = _define(
    5062, "kmod", Kind.ASSET, "name! size:uint! refcount:uint! used_by state! addr", "loaded kernel modules",
    key="name",
)
COLLECTOR_TASK_RESULT = _define(
    5100, "collector_result", Kind.PLUGIN, "status! msg token snapshots:json", "collector task result"
)
#: Our addition: sent after the records of one snapshot (count of them, or why it failed).
ASSET_SNAPSHOT = _define(
    5101, "asset_snapshot", Kind.PLUGIN,
    "data_type:uint! package_seq! count:uint! status! msg elapsed_ms:uint token",
    "end of one asset snapshot",
)  # fmt: skip

# --- other plugins ---------------------------------------------------------------------
SSH_LOGIN = _define(
    4000, "ssh_login", Kind.PLUGIN,
    "status:bool! types invalid:bool! user sip:ip sport:port extra rawlog! pid:uint source",
    "SSH login attempt",
)  # fmt: skip
_SCAN = "types class name exe exe_size exe_hash md5_hash create_at modify_at hit_data"
SCAN_DONE = _define(6000, "scan_done", Kind.PLUGIN, "status msg token", "scan task done")
MALICIOUS_FILE = _define(6001, "malicious_file", Kind.PLUGIN, _SCAN, "malicious file")
MALICIOUS_PROCESS = _define(6002, "malicious_process", Kind.PLUGIN, f"{_SCAN} pid ppid argv uid", "malicious process")
BASELINE_RESULT = _define(8000, "baseline_result", Kind.PLUGIN, (), "baseline check result")
BASELINE_STATUS = _define(8010, "baseline_status", Kind.PLUGIN, "status msg token", "baseline task status")


#: Records that report a task as done whatever the task's own data_type
#: (a collector snapshot task of Elkeid's form has an asset type, its answer is 5100).
TASK_RESULT_TYPES: frozenset[int] = frozenset({COLLECTOR_TASK_RESULT, SCAN_DONE, BASELINE_STATUS})


def get(number: int) -> DataType | None:
    """The declared :class:`DataType` for ``number``, or None if unknown."""
    return _REGISTRY.get(number)


def by_name(name: str) -> DataType:
    """The :class:`DataType` called ``name``.

    Raises:
        KeyError: no data type has that name.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown data type name {name!r}") from None


def all_types() -> list[DataType]:
    """Every declared data type, by number."""
    return [_REGISTRY[n] for n in sorted(_REGISTRY)]
