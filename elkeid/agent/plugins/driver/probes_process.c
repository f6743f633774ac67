/* Processes: fork map, execve, exit, kill, ptrace, prctl, setsid, setuid family, modules. */

#define U64LE(a, b, c, d, e, f, g, h)                                                  \
    ((u64)(a) | (u64)(b) << 8 | (u64)(c) << 16 | (u64)(d) << 24 | (u64)(e) << 32 |     \
     (u64)(f) << 40 | (u64)(g) << 48 | (u64)(h) << 56)

/* ---- fork map ---------------------------------------------------------------------- */

#if defined(HAVE_task__task_newtask)
/* copy_process() runs in the parent: current is the parent, args->pid the child. */
TRACEPOINT_PROBE(task, task_newtask)
{
    if (args->clone_flags & X_CLONE_THREAD)
        return 0;
    u32 child = args->pid;
    u32 parent = current_tgid();
    if (args->clone_flags & X_CLONE_PARENT) {
        u32 *pp = forks.lookup(&parent);
        parent = pp ? *pp : 0;
    }
    forks.update(&child, &parent);
    return 0;
}
#elif defined(HAVE_sched__sched_process_fork)
TRACEPOINT_PROBE(sched, sched_process_fork)
{
    u32 child = args->child_pid;
    u32 parent = current_tgid();
    forks.update(&child, &parent);
    return 0;
}
#endif

/* ---- exit: always sent (user space keeps its process table with it) --------------- */

#if defined(HAVE_sched__sched_process_exit)
TRACEPOINT_PROBE(sched, sched_process_exit)
{
    u64 id = bpf_get_current_pid_tgid();
    u32 tgid = id >> 32;
#if defined(HAVE_EXIT_GROUP_DEAD)
    if (!args->group_dead)
        return 0;
#else
    if ((u32)id != tgid)
        return 0;
#endif
    int zero = 0;
    struct config *c = config_map.lookup(&zero);
    if (c && c->self_tgid != tgid) {
        struct hdr *h = events.ringbuf_reserve(sizeof(struct hdr));
        if (h) {
            fill_hdr(h, DT_EXIT, sizeof(struct hdr));
            h->pid = tgid;
            events.ringbuf_submit(h, 0);
        } else {
            count(SLOT_EXIT);
        }
    }
    forks.delete(&tgid);
    muted.delete(&tgid);
    return 0;
}
#endif

/* ---- execve ------------------------------------------------------------------------ */

#if defined(ENABLE_EXECVE)
static __always_inline int exec_enter(const char *filename, const char *const *argv,
                                      const char *const *envp)
{
    u32 tid = current_tid();
    if (skip(SLOT_EXECVE, current_tgid(), 0))
        return 0;
    int zero = 0;
    struct exec_ev *e = exec_scratch.lookup(&zero);
    if (!e)
        return 0;
    e->flags = 0;
    e->ssh[0] = 0;
    e->ld_preload[0] = 0;
    e->filename[0] = 0;
    bpf_probe_read_user_str(e->filename, sizeof(e->filename), filename);

    u32 off = 0, argc = 0;
    for (int i = 0; i < MAX_ARGS; i++) {
        const char *p = 0;
        if (bpf_probe_read_user(&p, sizeof(p), &argv[i]) || !p)
            goto args_done;
        if (off >= ARGV_LEN) {
            e->flags |= 1;
            goto args_done;
        }
        int n = bpf_probe_read_user_str(&e->argv[off & (ARGV_LEN - 1)], ARG_LEN, p);
        if (n <= 0)
            goto args_done;
        if (n == ARG_LEN)
            e->flags |= 1;
        off += n;
        argc++;
    }
    {
        const char *more = 0;
        bpf_probe_read_user(&more, sizeof(more), &argv[MAX_ARGS]);
        if (more)
            e->flags |= 1;
    }
args_done:
    e->argc = argc;
    e->argv_len = off;

    /* SSH_CONNECTION= is 15 bytes, LD_PRELOAD= 11: compared as two little-endian words. */
    for (int i = 0; i < ENV_SCAN; i++) {
        const char *p = 0;
        u64 head[2] = {};
        if (bpf_probe_read_user(&p, sizeof(p), &envp[i]) || !p)
            break;
        bpf_probe_read_user(head, sizeof(head), p);
        if (head[0] == U64LE('S', 'S', 'H', '_', 'C', 'O', 'N', 'N') &&
            (head[1] & 0x00ffffffffffffffULL) == U64LE('E', 'C', 'T', 'I', 'O', 'N', '=', 0))
            bpf_probe_read_user_str(e->ssh, sizeof(e->ssh), p + 15);
        else if (head[0] == U64LE('L', 'D', '_', 'P', 'R', 'E', 'L', 'O') &&
                 (head[1] & 0xffffff) == U64LE('A', 'D', '=', 0, 0, 0, 0, 0))
            bpf_probe_read_user_str(e->ld_preload, sizeof(e->ld_preload), p + 11);
    }
    if (execs.update(&tid, e) < 0)
        count(SLOT_STASH);
    return 0;
}

static __always_inline int exec_exit(long ret)
{
    u32 tid = current_tid();
    struct exec_ev *e = execs.lookup(&tid);
    if (!e)
        return 0;
    /* A failed PATH search is noise, as in Elkeid; every other result is reported. */
    if (ret != -X_ENOENT) {
        fill_hdr(&e->h, DT_EXECVE, sizeof(*e));
        e->h.res = ret;
        if (ret == 0) {
            u32 tgid = current_tgid();
            muted.delete(&tgid); /* a new image: user space decides again */
        }
        send_stashed(e, sizeof(*e), SLOT_EXECVE);
    }
    execs.delete(&tid);
    return 0;
}

#if defined(HAVE_syscalls__sys_enter_execve)
TRACEPOINT_PROBE(syscalls, sys_enter_execve)
{
    return exec_enter(args->filename, args->argv, args->envp);
}
TRACEPOINT_PROBE(syscalls, sys_exit_execve)
{
    return exec_exit(args->ret);
}
#endif

#if defined(HAVE_syscalls__sys_enter_execveat)
TRACEPOINT_PROBE(syscalls, sys_enter_execveat)
{
    return exec_enter(args->filename, args->argv, args->envp);
}
TRACEPOINT_PROBE(syscalls, sys_exit_execveat)
{
    return exec_exit(args->ret);
}
#endif

#if defined(HAVE_sched__sched_process_exec)
/* A non-leader thread that execs takes over the leader's pid: move its stash. */
TRACEPOINT_PROBE(sched, sched_process_exec)
{
    u32 old = args->old_pid, now = args->pid;
    if (old == now)
        return 0;
    struct exec_ev *e = execs.lookup(&old);
    if (e) {
        execs.update(&now, e);
        execs.delete(&old);
    }
    return 0;
}
#endif
#endif /* ENABLE_EXECVE */

/* ---- kill -------------------------------------------------------------------------- */

#if defined(ENABLE_KILL) && defined(HAVE_syscalls__sys_enter_kill)
TRACEPOINT_PROBE(syscalls, sys_enter_kill)
{
    if (args->sig == 0 || skip(SLOT_KILL, current_tgid(), 1))
        return 0; /* signal 0 only probes for existence */
    struct sys_ev *e = sys_begin(DT_KILL);
    if (!e)
        return 0;
    e->a[0] = (s32)args->pid;
    e->a[1] = args->sig;
    sys_stash(e);
    return 0;
}
TRACEPOINT_PROBE(syscalls, sys_exit_kill)
{
    return sys_finish(DT_KILL, SLOT_KILL, args->ret, 1);
}
#endif

/* ---- ptrace: requests that let one process take over another ---------------------- */

#if defined(ENABLE_PTRACE) && defined(HAVE_syscalls__sys_enter_ptrace)
TRACEPOINT_PROBE(syscalls, sys_enter_ptrace)
{
    long req = args->request;
    /* POKETEXT 4, POKEDATA 5, POKEUSER 6, SETREGS 13, ATTACH 16, SEIZE 0x4206 */
    if (!(req == 4 || req == 5 || req == 6 || req == 13 || req == 16 || req == 0x4206))
        return 0;
    if (skip(SLOT_PTRACE, current_tgid(), 1))
        return 0;
    struct sys_ev *e = sys_begin(DT_PTRACE);
    if (!e)
        return 0;
    e->a[0] = req;
    e->a[1] = args->pid;
    e->a[2] = args->addr;
    e->a[3] = args->data;
    sys_stash(e);
    return 0;
}
TRACEPOINT_PROBE(syscalls, sys_exit_ptrace)
{
    return sys_finish(DT_PTRACE, SLOT_PTRACE, args->ret, 1);
}
#endif

/* ---- prctl(PR_SET_NAME) ------------------------------------------------------------ */

#if defined(ENABLE_PRCTL) && defined(HAVE_syscalls__sys_enter_prctl)
TRACEPOINT_PROBE(syscalls, sys_enter_prctl)
{
    if (args->option != X_PR_SET_NAME || skip(SLOT_PRCTL, current_tgid(), 1))
        return 0;
    struct sys_ev *e = sys_begin(DT_PRCTL);
    if (!e)
        return 0;
    e->a[0] = args->option;
    bpf_probe_read_user_str(e->p3, COMM_LEN, (const char *)args->arg2);
    sys_stash(e);
    return 0;
}
TRACEPOINT_PROBE(syscalls, sys_exit_prctl)
{
    return sys_finish(DT_PRCTL, SLOT_PRCTL, args->ret, 1);
}
#endif

/* ---- setsid ------------------------------------------------------------------------ */

#if defined(ENABLE_SETSID) && defined(HAVE_syscalls__sys_exit_setsid)
TRACEPOINT_PROBE(syscalls, sys_exit_setsid)
{
    if (args->ret < 0 || skip(SLOT_SETSID, current_tgid(), 1))
        return 0;
    struct hdr *h = events.ringbuf_reserve(sizeof(struct hdr));
    if (!h) {
        count(SLOT_SETSID);
        return 0;
    }
    fill_hdr(h, DT_SETSID, sizeof(struct hdr));
    h->res = args->ret;
    events.ringbuf_submit(h, 0);
    return 0;
}
#endif

/* ---- credentials raised to root: setuid, setreuid, setresuid ------------------------ */

#if defined(ENABLE_UPDATE_CRED)
/* a[0..2]: requested real, effective, saved uid (-1: unchanged); a[3]: real uid before. */
static __always_inline int cred_enter(s64 ruid, s64 euid, s64 suid)
{
    u32 uid = (u32)bpf_get_current_uid_gid();
    if (uid == 0 || skip(SLOT_UPDATE_CRED, current_tgid(), 1))
        return 0; /* already root: nothing can be raised */
    struct sys_ev *e = sys_begin(DT_UPDATE_CRED);
    if (!e)
        return 0;
    e->a[0] = ruid;
    e->a[1] = euid;
    e->a[2] = suid;
    e->a[3] = uid;
    sys_stash(e);
    return 0;
}

static __always_inline int cred_exit(long ret)
{
    u32 tid = current_tid();
    struct sys_ev *e = syss.lookup(&tid);
    if (!e)
        return 0;
    u32 now = (u32)bpf_get_current_uid_gid();
    int raised = ret == 0 && (now == 0 || e->a[0] == 0 || e->a[1] == 0 || e->a[2] == 0);
    return sys_finish(DT_UPDATE_CRED, SLOT_UPDATE_CRED, ret, raised);
}

#if defined(HAVE_syscalls__sys_enter_setuid)
TRACEPOINT_PROBE(syscalls, sys_enter_setuid)
{
    return cred_enter((s32)args->uid, (s32)args->uid, -1);
}
TRACEPOINT_PROBE(syscalls, sys_exit_setuid)
{
    return cred_exit(args->ret);
}
#endif
#if defined(HAVE_syscalls__sys_enter_setreuid)
TRACEPOINT_PROBE(syscalls, sys_enter_setreuid)
{
    return cred_enter((s32)args->ruid, (s32)args->euid, -1);
}
TRACEPOINT_PROBE(syscalls, sys_exit_setreuid)
{
    return cred_exit(args->ret);
}
#endif
#if defined(HAVE_syscalls__sys_enter_setresuid)
TRACEPOINT_PROBE(syscalls, sys_enter_setresuid)
{
    return cred_enter((s32)args->ruid, (s32)args->euid, (s32)args->suid);
}
TRACEPOINT_PROBE(syscalls, sys_exit_setresuid)
{
    return cred_exit(args->ret);
}
#endif
#endif /* ENABLE_UPDATE_CRED */

/* ---- kernel modules ---------------------------------------------------------------- */

#if defined(ENABLE_LOAD_MODULE)
#if defined(HAVE_syscalls__sys_enter_finit_module)
TRACEPOINT_PROBE(syscalls, sys_enter_finit_module)
{
    if (skip(SLOT_LOAD_MODULE, current_tgid(), 0))
        return 0;
    struct sys_ev *e = sys_begin(DT_LOAD_MODULE);
    if (!e)
        return 0;
    e->a[0] = args->fd;
    e->a[1] = -1;
    sys_stash(e);
    return 0;
}
TRACEPOINT_PROBE(syscalls, sys_exit_finit_module)
{
    return sys_finish(DT_LOAD_MODULE, SLOT_LOAD_MODULE, args->ret, 1);
}
#endif
#if defined(HAVE_syscalls__sys_enter_init_module)
TRACEPOINT_PROBE(syscalls, sys_enter_init_module)
{
    if (skip(SLOT_LOAD_MODULE, current_tgid(), 0))
        return 0;
    struct sys_ev *e = sys_begin(DT_LOAD_MODULE);
    if (!e)
        return 0;
    e->a[0] = -1;
    e->a[1] = args->len;
    sys_stash(e);
    return 0;
}
TRACEPOINT_PROBE(syscalls, sys_exit_init_module)
{
    return sys_finish(DT_LOAD_MODULE, SLOT_LOAD_MODULE, args->ret, 1);
}
#endif
#endif /* ENABLE_LOAD_MODULE */
