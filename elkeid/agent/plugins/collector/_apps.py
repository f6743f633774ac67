"""5060 applications: known servers found among running processes, with version and config file.

A process is an application when its executable's name is in :data:`RULES`
(nginx, Apache, Redis, MySQL/MariaDB, PostgreSQL, MongoDB, …) or when it is a
JVM whose main class or jar is a known Java server (Kafka, Elasticsearch,
Tomcat, ZooKeeper, Jenkins); any other JVM is a ``java_app`` named after its
main class or jar. Worker processes (whose parent runs the same executable)
are folded into their master.

``sversion`` is, cheapest first, the version of the dpkg package owning the
executable (exact, and what vulnerability feeds use), the version in a Java
server's jar name, or a version string found inside the executable (bounded
read, cached per file version). Nothing is ever executed.
``conf`` is the configuration file named on the command line, else the
distribution's default path when it exists.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from ._host import Host, pids
from ._proc import container_id, read_argv, readlink
from ._software import dpkg_packages

SCAN_LIMIT = 64 * 1024 * 1024


@dataclass(frozen=True)
class AppRule:
    name: str
    type: str
    version_in_binary: str = ""  # regex with one group, searched in the executable
    conf_flags: tuple[str, ...] = ()  # "-c" (next argument) or "--config=" (same argument)
    conf_defaults: tuple[str, ...] = ()
    conf_suffix: str = ""  # any argument ending like this names the config (redis)


_NGINX = AppRule("nginx", "web_service", r"nginx/(\d+\.\d+\.\d+)", ("-c",), ("/etc/nginx/nginx.conf",))
_APACHE = AppRule("apache", "web_service", r"Apache/(\d+\.\d+\.\d+)", ("-f",),
                  ("/etc/apache2/apache2.conf", "/etc/httpd/conf/httpd.conf"))  # fmt: skip
_MYSQL = AppRule("mysql", "database", r"(\d+\.\d+\.\d+)-(?:MariaDB|mysql)", ("--defaults-file=",),
                 ("/etc/mysql/my.cnf", "/etc/my.cnf"))  # fmt: skip
_POSTGRES = AppRule("postgresql", "database", r"PostgreSQL (\d+\.\d+)", ("config_file=", "-D"))
RULES: dict[str, AppRule] = {
    "nginx": _NGINX,
    "apache2": _APACHE,
    "httpd": _APACHE,
    "redis-server": AppRule("redis", "database", r"redis-(\d+\.\d+\.\d+)", conf_suffix=".conf",
                            conf_defaults=("/etc/redis/redis.conf",)),  # fmt: skip
    "mysqld": _MYSQL,
    "mariadbd": _MYSQL,
    "postgres": _POSTGRES,
    "postmaster": _POSTGRES,
    "mongod": AppRule("mongodb", "database", r"mongodb-(\d+\.\d+\.\d+)", ("--config=", "--config", "-f"),
                      ("/etc/mongod.conf",)),  # fmt: skip
    "memcached": AppRule("memcached", "database", r"memcached (\d+\.\d+\.\d+)"),
    "haproxy": AppRule("haproxy", "web_service", r"HAProxy version (\d+\.\d+\.\d+)", ("-f",),
                       ("/etc/haproxy/haproxy.cfg",)),  # fmt: skip
    "sshd": AppRule("sshd", "remote_access", r"OpenSSH_(\d+\.\d+(?:p\d+)?)", ("-f",), ("/etc/ssh/sshd_config",)),
    "etcd": AppRule("etcd", "database", conf_flags=("--config-file=", "--config-file")),
    "dockerd": AppRule("docker", "container_component", conf_flags=("--config-file=", "--config-file"),
                       conf_defaults=("/etc/docker/daemon.json",)),  # fmt: skip
    "containerd": AppRule("containerd", "container_component", conf_flags=("--config", "-c"),
                          conf_defaults=("/etc/containerd/config.toml",)),  # fmt: skip
    "kubelet": AppRule("kubelet", "container_component", conf_flags=("--config=", "--config")),
}
# JVMs: (main class or jar pattern, name, type, version pattern in the class path)
JAVA_APPS = (
    (r"kafka\.Kafka\b", "kafka", "message_queue", r"kafka_[\d.]+-(\d+\.\d+\.\d+)"),
    (r"org\.elasticsearch\.bootstrap\.Elasticsearch", "elasticsearch", "database", r"elasticsearch-(\d+\.\d+\.\d+)"),
    (r"org\.apache\.catalina\.startup\.Bootstrap", "tomcat", "web_service", r"tomcat[-\w]*?-(\d+\.\d+\.\d+)"),
    (r"org\.apache\.zookeeper\.server\.quorum\.QuorumPeerMain", "zookeeper", "database", r"zookeeper-(\d+\.\d+\.\d+)"),
    (r"jenkins\.war", "jenkins", "devops", r"jenkins-(\d+\.\d+(?:\.\d+)?)"),
)


def _dpkg_owner_versions(host: Host) -> dict[str, str]:
    """path -> dpkg version of the package that installed it (cached until dpkg's database changes)."""
    info = host.path("/var/lib/dpkg/info")
    try:
        stamp = (info.stat().st_mtime_ns, host.path("/var/lib/dpkg/status").stat().st_mtime_ns)
    except OSError:
        return {}
    memo = host.memo.setdefault("dpkg_owners", {})
    if memo.get("stamp") != stamp:
        versions = {r["name"]: r["sversion"] for r in dpkg_packages(host)}
        owners: dict[str, str] = {}
        for entry in os.scandir(info):
            if entry.name.endswith(".list"):
                pkg = entry.name[:-5].split(":", 1)[0]
                if pkg in versions:
                    try:
                        with open(entry.path, errors="replace") as f:
                            for line in f:
                                owners[line.rstrip("\n")] = versions[pkg]
                    except OSError:
                        continue
        memo.clear()
        memo.update(stamp=stamp, owners=owners)
    return memo["owners"]


def _version_in_file(host: Host, path: str, pattern: str) -> str:
    memo = host.memo.setdefault("binary_versions", {})
    try:
        st = os.stat(path)
    except OSError:
        return ""
    key = (path, st.st_ino, st.st_size, st.st_mtime_ns, pattern)
    if key not in memo:
        rx, found, tail = re.compile(pattern.encode()), "", b""
        try:
            with open(path, "rb") as f:
                read = 0
                while read < SCAN_LIMIT and (chunk := f.read(1 << 20)):
                    read += len(chunk)
                    m = rx.search(tail + chunk)
                    if m:
                        found = m.group(1).decode(errors="replace")
                        break
                    tail = chunk[-256:]
        except OSError:
            pass
        memo[key] = found
    return memo[key]


def _conf(host: Host, pid: int, rule: AppRule, argv: list[str]) -> str:
    for i, arg in enumerate(argv):
        for flag in rule.conf_flags:
            if flag.endswith("=") and arg.startswith(flag):
                value = arg[len(flag) :]
            elif arg == flag and i + 1 < len(argv):
                value = argv[i + 1]
            else:
                continue
            if rule is _POSTGRES and flag == "-D":
                value = value.rstrip("/") + "/postgresql.conf"
            return value
        if rule.conf_suffix and i > 0 and arg.endswith(rule.conf_suffix):
            return arg
    root = host.proc / str(pid) / "root"
    for path in rule.conf_defaults:
        if os.path.exists(str(root) + path):
            return path
    return ""


def _java_app(argv: list[str]) -> tuple[str, str, str]:
    """(name, type, version) of a JVM from its command line."""
    line = " ".join(argv)
    for pattern, name, kind, version_rx in JAVA_APPS:
        if re.search(pattern, line):
            m = re.search(version_rx, line)
            return name, kind, m.group(1) if m else ""
    # java [options] -jar x.jar | java [options] main.Class
    skip_next = False
    for i, arg in enumerate(argv[1:], 1):
        if skip_next:
            skip_next = False
            continue
        if arg == "-jar" and i + 1 < len(argv):
            return os.path.basename(argv[i + 1]), "java_app", ""
        if arg in ("-cp", "-classpath", "--class-path", "-p", "--module-path", "-m", "--module"):
            skip_next = arg not in ("-m", "--module")
            continue
        if not arg.startswith("-"):
            return arg, "java_app", ""
    return "java", "java_app", ""


def collect_apps(host: Host) -> list[dict[str, str]]:
    exes: dict[int, str] = {}
    procs = pids(host)
    for pid in procs:
        exe = readlink(host.proc / str(pid) / "exe").removesuffix(" (deleted)")
        if exe:
            exes[pid] = exe
    records = []
    owners: dict[str, str] | None = None
    for pid, exe in exes.items():
        base = os.path.basename(exe)
        rule = RULES.get(base)
        if rule is None and base != "java":
            continue
        try:
            stat = (host.proc / str(pid) / "stat").read_text()
            ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if exes.get(ppid) == exe:
            continue  # a worker of the same server
        argv = read_argv(host, pid)
        if owners is None:
            owners = _dpkg_owner_versions(host)
        version = owners.get(exe) or owners.get(exe.removeprefix("/usr")) or ""
        if rule is None:
            name, kind, jar_version = _java_app(argv)
            version, conf = jar_version or "", ""
        else:
            name, kind = rule.name, rule.type
            if not version and rule.version_in_binary:
                version = _version_in_file(host, str(host.proc / str(pid) / "exe"), rule.version_in_binary)
            conf = _conf(host, pid, rule, argv)
        records.append({"name": name, "type": kind, "sversion": version, "conf": conf, "exe": exe,
                        "pid": str(pid), "container_id": container_id(host, pid)})  # fmt: skip
    return records
