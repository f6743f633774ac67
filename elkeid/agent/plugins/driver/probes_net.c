/* Network: connect, accept, bind, DNS queries. */

/* (tgid << 32 | fd) -> the DNS server a UDP socket was connect()ed to. */
BPF_TABLE("lru_hash", u64, struct peer_key, dns_socks, 4096);
/* A connecting socket (tracepoint skaddr) -> the thread inside connect(). */
BPF_TABLE("lru_hash", u64, u32, connecting, 4096);
/* Peer of a passively opened TCP connection -> our local end, for accept(). */
BPF_TABLE("lru_hash", struct peer_key, struct local_end, accepted, 4096);

/* The family, port and address of a user sockaddr; 0 unless AF_INET or AF_INET6. */
static __always_inline u16 read_sockaddr(const void *uaddr, u16 *port, u8 *addr)
{
    u16 family = 0;
    if (!uaddr || bpf_probe_read_user(&family, sizeof(family), uaddr))
        return 0;
    if (family == X_AF_INET) {
        struct {
            u16 family;
            u16 port;
            u8 addr[4];
        } sin = {};
        if (bpf_probe_read_user(&sin, sizeof(sin), uaddr))
            return 0;
        *port = bpf_ntohs(sin.port);
        __builtin_memcpy(addr, sin.addr, 4);
        return family;
    }
    if (family == X_AF_INET6) {
        struct {
            u16 family;
            u16 port;
            u32 flowinfo;
            u8 addr[16];
        } sin6 = {};
        if (bpf_probe_read_user(&sin6, sizeof(sin6), uaddr))
            return 0;
        *port = bpf_ntohs(sin6.port);
        __builtin_memcpy(addr, sin6.addr, 16);
        return family;
    }
    return 0;
}

static __always_inline struct net_ev *net_begin(u32 type, s32 fd)
{
    int zero = 0;
    struct net_ev *e = net_scratch.lookup(&zero);
    if (!e)
        return 0;
    e->h.type = type;
    e->fd = fd;
    e->family = 0;
    e->dport = 0;
    e->sport = 0;
    e->dns_len = 0;
    e->sk = 0;
    __builtin_memset(e->daddr, 0, 16);
    __builtin_memset(e->saddr, 0, 16);
    return e;
}

static __always_inline void net_stash(struct net_ev *e)
{
    u32 tid = current_tid();
    if (nets.update(&tid, e) < 0)
        count(SLOT_STASH);
}

static __always_inline struct net_ev *net_pending(u32 type)
{
    u32 tid = current_tid();
    struct net_ev *e = nets.lookup(&tid);
    if (e && e->h.type != type) {
        nets.delete(&tid);
        return 0;
    }
    return e;
}

static __always_inline void net_done(void)
{
    u32 tid = current_tid();
    nets.delete(&tid);
}

/* ---- connect ----------------------------------------------------------------------- */

#if defined(HAVE_syscalls__sys_enter_connect)
TRACEPOINT_PROBE(syscalls, sys_enter_connect)
{
    u32 tgid = current_tgid();
    u64 fdkey = (u64)tgid << 32 | (u32)args->fd;
    struct net_ev *e = net_begin(DT_CONNECT, args->fd);
    if (!e)
        return 0;
    e->family = read_sockaddr(args->uservaddr, &e->dport, e->daddr);
    if (!e->family)
        return 0;
#if defined(ENABLE_DNS_QUERY)
    /* resolvers connect() a UDP socket to the server, then send(): remember it */
    if (e->dport == 53) {
        struct peer_key k = {.family = e->family, .port = 53};
        __builtin_memcpy(k.addr, e->daddr, 16);
        dns_socks.update(&fdkey, &k);
    } else {
        dns_socks.delete(&fdkey);
    }
#endif
#if defined(ENABLE_CONNECT)
    if (!skip(SLOT_CONNECT, tgid, 1))
        net_stash(e);
#endif
    return 0;
}

#if defined(ENABLE_CONNECT)
TRACEPOINT_PROBE(syscalls, sys_exit_connect)
{
    struct net_ev *e = net_pending(DT_CONNECT);
    if (!e)
        return 0;
    if (e->sk) {
        u64 sk = e->sk;
        connecting.delete(&sk);
    }
    fill_hdr(&e->h, DT_CONNECT, sizeof(*e));
    e->h.res = args->ret;
    send_stashed(e, sizeof(*e), SLOT_CONNECT);
    net_done();
    return 0;
}
#endif
#endif

#if defined(HAVE_sock__inet_sock_set_state)
/* TCP state changes carry both ends of the connection as tracepoint arguments. */
TRACEPOINT_PROBE(sock, inet_sock_set_state)
{
    if (args->protocol != X_IPPROTO_TCP)
        return 0;
    u64 sk = (u64)args->skaddr;
#if defined(ENABLE_CONNECT)
    if (args->newstate == X_TCP_SYN_SENT) {
        /* inside connect(): the source port is not chosen yet, remember the socket */
        u32 tid = current_tid();
        struct net_ev *e = nets.lookup(&tid);
        if (e && e->h.type == DT_CONNECT) {
            e->sk = sk;
            connecting.update(&sk, &tid);
        }
        return 0;
    }
    if (args->oldstate == X_TCP_SYN_SENT) {
        /* SYN_SENT -> ESTABLISHED or CLOSE, maybe in softirq: the source is known now */
        u32 *tid = connecting.lookup(&sk);
        if (!tid)
            return 0;
        struct net_ev *e = nets.lookup(tid);
        if (e && e->h.type == DT_CONNECT && e->sk == sk) {
            e->sport = args->sport;
            if (args->family == X_AF_INET)
                __builtin_memcpy(e->saddr, args->saddr, 4);
            else
                __builtin_memcpy(e->saddr, args->saddr_v6, 16);
        }
        connecting.delete(&sk);
        return 0;
    }
#endif
#if defined(ENABLE_ACCEPT)
    if (args->oldstate == X_TCP_SYN_RECV && args->newstate == X_TCP_ESTABLISHED) {
        struct peer_key k = {.family = args->family, .port = args->dport};
        struct local_end v = {.port = args->sport};
        if (args->family == X_AF_INET) {
            __builtin_memcpy(k.addr, args->daddr, 4);
            __builtin_memcpy(v.addr, args->saddr, 4);
        } else {
            __builtin_memcpy(k.addr, args->daddr_v6, 16);
            __builtin_memcpy(v.addr, args->saddr_v6, 16);
        }
        accepted.update(&k, &v);
    }
#endif
    return 0;
}
#endif

/* ---- accept ------------------------------------------------------------------------ */

#if defined(ENABLE_ACCEPT)
/* The peer's sockaddr pointer is kept in the stash's dns buffer until sys_exit. */
static __always_inline int accept_enter(s32 fd, const void *upeer)
{
    if (skip(SLOT_ACCEPT, current_tgid(), 1))
        return 0;
    struct net_ev *e = net_begin(DT_ACCEPT, fd);
    if (!e)
        return 0;
    e->sk = (u64)upeer;
    net_stash(e);
    return 0;
}

static __always_inline int accept_exit(long ret)
{
    struct net_ev *e = net_pending(DT_ACCEPT);
    if (!e)
        return 0;
    if (ret >= 0) {
        const void *upeer = (const void *)e->sk;
        e->sk = 0;
        e->fd = ret;
        /* our convention (as Elkeid's): s = the peer that connected, d = our end */
        e->family = read_sockaddr(upeer, &e->sport, e->saddr);
        if (e->family) {
            struct peer_key k = {.family = e->family, .port = e->sport};
            __builtin_memcpy(k.addr, e->saddr, 16);
            struct local_end *v = accepted.lookup(&k);
            if (v) {
                e->dport = v->port;
                __builtin_memcpy(e->daddr, v->addr, 16);
                accepted.delete(&k);
            }
        }
        /* family 0 with no peer buffer: user space asks /proc; a unix socket is skipped */
        if (e->family || !upeer) {
            fill_hdr(&e->h, DT_ACCEPT, sizeof(*e));
            e->h.res = 0;
            send_stashed(e, sizeof(*e), SLOT_ACCEPT);
        }
    }
    net_done();
    return 0;
}

#if defined(HAVE_syscalls__sys_enter_accept)
TRACEPOINT_PROBE(syscalls, sys_enter_accept)
{
    return accept_enter(args->fd, args->upeer_sockaddr);
}
TRACEPOINT_PROBE(syscalls, sys_exit_accept)
{
    return accept_exit(args->ret);
}
#endif
#if defined(HAVE_syscalls__sys_enter_accept4)
TRACEPOINT_PROBE(syscalls, sys_enter_accept4)
{
    return accept_enter(args->fd, args->upeer_sockaddr);
}
TRACEPOINT_PROBE(syscalls, sys_exit_accept4)
{
    return accept_exit(args->ret);
}
#endif
#endif /* ENABLE_ACCEPT */

/* ---- bind -------------------------------------------------------------------------- */

#if defined(ENABLE_BIND) && defined(HAVE_syscalls__sys_enter_bind)
TRACEPOINT_PROBE(syscalls, sys_enter_bind)
{
    if (skip(SLOT_BIND, current_tgid(), 1))
        return 0;
    struct net_ev *e = net_begin(DT_BIND, args->fd);
    if (!e)
        return 0;
    e->family = read_sockaddr(args->umyaddr, &e->sport, e->saddr);
    if (e->family)
        net_stash(e);
    return 0;
}
TRACEPOINT_PROBE(syscalls, sys_exit_bind)
{
    struct net_ev *e = net_pending(DT_BIND);
    if (!e)
        return 0;
    if (args->ret == 0) { /* failed binds are not reported, as in Elkeid */
        fill_hdr(&e->h, DT_BIND, sizeof(*e));
        send_stashed(e, sizeof(*e), SLOT_BIND);
    }
    net_done();
    return 0;
}
#endif

/* ---- DNS queries: UDP datagrams to port 53 ------------------------------------------ */

#if defined(ENABLE_DNS_QUERY)
/* Send one DNS event: destination from the sockaddr, else from a connect()ed socket. */
static __always_inline int dns_send(s32 fd, const void *uaddr, const void *buf, u64 len)
{
    u16 port = 0;
    u8 addr[16] = {};
    u16 family = 0;
    u32 tgid = current_tgid();
    if (uaddr) {
        family = read_sockaddr(uaddr, &port, addr);
        if (!family || port != 53)
            return 0;
    } else {
        u64 fdkey = (u64)tgid << 32 | (u32)fd;
        struct peer_key *k = dns_socks.lookup(&fdkey);
        if (!k)
            return 0;
        family = k->family;
        port = k->port;
        __builtin_memcpy(addr, k->addr, 16);
    }
    if (!buf || len < 17 || skip(SLOT_DNS_QUERY, tgid, 1))
        return 0; /* a query is a 12-byte header, a name and 4 bytes of type and class */
    struct net_ev *e = events.ringbuf_reserve(sizeof(struct net_ev));
    if (!e) {
        count(SLOT_DNS_QUERY);
        return 0;
    }
    fill_hdr(&e->h, DT_DNS_QUERY, sizeof(*e));
    e->h.res = 0;
    e->fd = fd;
    e->family = family;
    e->dport = port;
    e->sport = 0;
    e->pad = 0;
    e->sk = 0;
    __builtin_memcpy(e->daddr, addr, 16);
    __builtin_memset(e->saddr, 0, 16);
    u32 n = len > DNS_LEN ? DNS_LEN : len;
    e->dns_len = n;
    if (bpf_probe_read_user(e->dns, n & 0x1ff, buf))
        e->dns_len = 0;
    events.ringbuf_submit(e, 0);
    return 0;
}

/* The first iovec of a user msghdr (uapi layout). */
static __always_inline int dns_msghdr(s32 fd, const void *umsg)
{
    struct {
        void *name;
        u32 namelen;
        u32 pad;
        void *iov;
        u64 iovlen;
    } m = {};
    struct {
        void *base;
        u64 len;
    } iov = {};
    if (!umsg || bpf_probe_read_user(&m, sizeof(m), umsg) || !m.iov || !m.iovlen)
        return 0;
    if (bpf_probe_read_user(&iov, sizeof(iov), m.iov))
        return 0;
    return dns_send(fd, m.name, iov.base, iov.len);
}

#if defined(HAVE_syscalls__sys_enter_sendto)
TRACEPOINT_PROBE(syscalls, sys_enter_sendto)
{
    return dns_send(args->fd, args->addr, args->buff, args->len);
}
#endif
#if defined(HAVE_syscalls__sys_enter_sendmsg)
TRACEPOINT_PROBE(syscalls, sys_enter_sendmsg)
{
    return dns_msghdr(args->fd, args->msg);
}
#endif
#if defined(HAVE_syscalls__sys_enter_sendmmsg)
/* glibc sends the A and AAAA questions in one sendmmsg(): the first names the query. */
TRACEPOINT_PROBE(syscalls, sys_enter_sendmmsg)
{
    return dns_msghdr(args->fd, args->mmsg);
}
#endif
#endif /* ENABLE_DNS_QUERY */
