/* Elkeid driver: definitions shared by every probe.
 *
 * Rules of this program (see docs/driver.md): it runs on tracepoints only, reads
 * tracepoint arguments, user memory the syscall was handed (uapi layouts, a stable
 * ABI) and BPF helper results. It never reads a kernel struct, so it stays correct
 * when compiled against headers of another kernel version.
 *
 * The loader passes, as -D flags: DT_<NAME> (data_type numbers from
 * elkeid/datatypes.py), SLOT_<NAME> (drop-counter slots), NSLOTS, RINGBUF_PAGES,
 * HAVE_<category>__<event> for each tracepoint present in this kernel, and
 * ENABLE_<GROUP> for each probe group compiled in.
 */

#define COMM_LEN 16
#define PATH_LEN 256
#define ARGV_LEN 1024 /* a power of two: offsets are masked with ARGV_LEN - 1 */
#define ARG_LEN 256
#define MAX_ARGS 32
#define ENV_SCAN 128 /* envp entries examined for SSH_CONNECTION and LD_PRELOAD */
#define ENV_VAL_LEN 128
#define DNS_LEN 288
#define SHORT_LEN 32

#define X_AF_INET 2
#define X_AF_INET6 10
#define X_ENOENT 2
#define X_O_CREAT 0100
#define X_O_TMPFILE 020200000
#define X_CLONE_PARENT 0x00008000
#define X_CLONE_THREAD 0x00010000
#define X_PR_SET_NAME 15
#define X_IPPROTO_TCP 6
#define X_TCP_ESTABLISHED 1
#define X_TCP_SYN_SENT 2
#define X_TCP_SYN_RECV 3

/* Every event starts with this header. */
struct hdr {
    u32 type;  /* data_type */
    u32 size;  /* sizeof the whole event: user space checks it against its own layout */
    u64 ts;    /* bpf_ktime_get_ns() */
    u32 pid;   /* thread id */
    u32 tgid;  /* process id */
    u32 ppid;  /* parent's tgid from the fork map, 0 when unknown */
    u32 uid;
    u32 gid;
    s32 res;   /* syscall result where one applies */
    u64 cgroup;
    char comm[COMM_LEN];
};

/* execve / execveat, stashed at sys_enter, sent at sys_exit. */
struct exec_ev {
    struct hdr h;
    u32 argc;
    u32 argv_len;
    u32 flags; /* bit 0: argv truncated */
    u32 pad;
    char filename[PATH_LEN];
    char ssh[ENV_VAL_LEN];
    char ld_preload[ENV_VAL_LEN];
    char argv[ARGV_LEN + ARG_LEN];
};

/* connect, accept, bind, DNS query. Ports in host order, addresses as on the wire. */
struct net_ev {
    struct hdr h;
    s32 fd;
    u16 family;
    u16 dport;
    u16 sport;
    u16 pad;
    u32 dns_len;
    u64 sk; /* internal: the socket's address as a tracepoint reports it (a key, never read) */
    u8 daddr[16];
    u8 saddr[16];
    u8 dns[DNS_LEN];
};

/* Every other syscall: up to four numbers and three strings. */
struct sys_ev {
    struct hdr h;
    s64 a[4];
    char p1[PATH_LEN];
    char p2[PATH_LEN];
    char p3[SHORT_LEN];
};

struct config {
    u32 self_tgid; /* the driver itself: never traced */
    u32 pad;
    u64 disabled;  /* bit SLOT_x set: that event is switched off */
};

struct peer_key {
    u16 family;
    u16 port;
    u8 addr[16];
};

struct local_end {
    u16 port;
    u16 pad;
    u8 addr[16];
};

BPF_RINGBUF_OUTPUT(events, RINGBUF_PAGES);
BPF_PERCPU_ARRAY(drops, u64, NSLOTS);
BPF_ARRAY(config_map, struct config, 1);
/* tgid -> parent's tgid, kept from fork to exit so short-lived processes keep their parent. */
BPF_TABLE("lru_hash", u32, u32, forks, 65536);
/* tgid -> monotonic ns until which the process is muted (allowlisted or flooding). */
BPF_TABLE("lru_hash", u32, u64, muted, 16384);
/* Per-thread stashes between sys_enter and sys_exit. */
BPF_TABLE("lru_hash", u32, struct exec_ev, execs, 1024);
BPF_TABLE("lru_hash", u32, struct net_ev, nets, 4096);
BPF_TABLE("lru_hash", u32, struct sys_ev, syss, 4096);
BPF_PERCPU_ARRAY(exec_scratch, struct exec_ev, 1);
BPF_PERCPU_ARRAY(net_scratch, struct net_ev, 1);
BPF_PERCPU_ARRAY(sys_scratch, struct sys_ev, 1);

static __always_inline void count(u32 slot)
{
    drops.increment(slot);
}

/* Whether to ignore this event: the driver itself, a switched-off event, a muted process. */
static __always_inline int skip(u32 slot, u32 tgid, int mutable)
{
    int zero = 0;
    struct config *c = config_map.lookup(&zero);
    if (!c)
        return 1;
    if (c->self_tgid == tgid)
        return 1;
    if (c->disabled & (1ULL << slot))
        return 1;
    if (mutable) {
        u64 *until = muted.lookup(&tgid);
        if (until) {
            if (bpf_ktime_get_ns() < *until) {
                count(SLOT_MUTED);
                return 1;
            }
            muted.delete(&tgid);
        }
    }
    return 0;
}

static __always_inline void fill_hdr(struct hdr *h, u32 type, u32 size)
{
    u64 id = bpf_get_current_pid_tgid();
    u64 ug = bpf_get_current_uid_gid();
    u32 tgid = id >> 32;
    u32 *pp = forks.lookup(&tgid);

    h->type = type;
    h->size = size;
    h->ts = bpf_ktime_get_ns();
    h->pid = (u32)id;
    h->tgid = tgid;
    h->ppid = pp ? *pp : 0;
    h->uid = (u32)ug;
    h->gid = ug >> 32;
    h->cgroup = bpf_get_current_cgroup_id();
    bpf_get_current_comm(&h->comm, sizeof(h->comm));
}

/* Send a stashed event (already filled) and count it when the ring buffer is full. */
static __always_inline void send_stashed(void *ev, u32 size, u32 slot)
{
    if (events.ringbuf_output(ev, size, 0) < 0)
        count(slot);
}

static __always_inline u32 current_tid(void)
{
    return (u32)bpf_get_current_pid_tgid();
}

static __always_inline u32 current_tgid(void)
{
    return bpf_get_current_pid_tgid() >> 32;
}

/* A fresh sys_ev in the per-CPU scratch, typed, with empty strings. */
static __always_inline struct sys_ev *sys_begin(u32 type)
{
    int zero = 0;
    struct sys_ev *e = sys_scratch.lookup(&zero);
    if (!e)
        return 0;
    e->h.type = type;
    e->a[0] = e->a[1] = e->a[2] = e->a[3] = 0;
    e->p1[0] = 0;
    e->p2[0] = 0;
    e->p3[0] = 0;
    return e;
}

static __always_inline void sys_stash(struct sys_ev *e)
{
    u32 tid = current_tid();
    if (syss.update(&tid, e) < 0)
        count(SLOT_STASH);
}

/* At sys_exit: send the stashed sys_ev of this type (when keep is true) and forget it. */
static __always_inline int sys_finish(u32 type, u32 slot, long ret, int keep)
{
    u32 tid = current_tid();
    struct sys_ev *e = syss.lookup(&tid);
    if (!e)
        return 0;
    if (e->h.type == type && keep) {
        fill_hdr(&e->h, type, sizeof(*e));
        e->h.res = ret;
        send_stashed(e, sizeof(*e), slot);
    }
    syss.delete(&tid);
    return 0;
}
