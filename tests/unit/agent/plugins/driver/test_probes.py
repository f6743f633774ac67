"""Which probes a kernel supports, judged from a tracefs tree of format files."""

from __future__ import annotations

from elkeid import datatypes
from elkeid.agent.plugins.driver._probes import GROUPS, SLOT_NAMES, plan, source


def fake_tracefs(root, names, exit_format="field:bool group_dead;"):
    for name in names:
        (root / "events" / name).mkdir(parents=True)
        (root / "events" / name / "format").write_text(exit_format if name.endswith("process_exit") else "")
    return root


def test_groups_follow_the_tracepoints_present(tmp_path):
    root = fake_tracefs(tmp_path, ["syscalls/sys_enter_execve", "syscalls/sys_exit_execve",
                                   "syscalls/sys_enter_connect",  # no exit: connect cannot work
                                   "syscalls/sys_exit_setsid", "sched/sched_process_exit", "task/task_newtask"])  # fmt: skip
    p = plan(root, 64)
    names = {g.name for g in p.groups}
    assert names == {"execve", "setsid", "exit"}
    assert "connect" in {g.name for g in p.missing}
    assert "-DHAVE_syscalls__sys_enter_execve=1" in p.cflags
    assert "-DHAVE_syscalls__sys_enter_connect=1" not in p.cflags
    assert "-DHAVE_task__task_newtask=1" in p.cflags and "-DHAVE_EXIT_GROUP_DEAD=1" in p.cflags
    assert f"-DDT_EXECVE={datatypes.EXECVE}" in p.cflags and "-DRINGBUF_PAGES=64" in p.cflags
    assert f"-DNSLOTS={len(SLOT_NAMES)}" in p.cflags


def test_every_reported_event_type_has_a_group_and_a_slot():
    assert {g.data_type for g in GROUPS} == {
        datatypes.EXECVE, datatypes.EXIT, datatypes.CONNECT, datatypes.ACCEPT, datatypes.BIND, datatypes.DNS_QUERY,
        datatypes.CREATE_FILE, datatypes.RENAME, datatypes.LINK, datatypes.PTRACE, datatypes.SETSID,
        datatypes.PRCTL, datatypes.MOUNT, datatypes.MEMFD_CREATE, datatypes.LOAD_MODULE, datatypes.UPDATE_CRED,
        datatypes.KILL,
    }  # fmt: skip
    assert len(SLOT_NAMES) <= 64  # the disabled mask is a u64


def test_the_program_text_is_package_data_and_reads_no_kernel_struct():
    text = source()
    assert "struct hdr" in text and "TRACEPOINT_PROBE(syscalls, sys_enter_execve)" in text
    for forbidden in ("task_struct", "bpf_get_current_task", "kprobe", "KFUNC_PROBE"):
        assert forbidden not in text
