/* Files: O_CREAT opens (user space decides whether a file was created), rename, link,
 * mount, memfd_create. */

/* ---- O_CREAT opens ----------------------------------------------------------------- */

#if defined(ENABLE_CREATE_FILE)
/* a[0] dirfd, a[1] flags, a[2] mode, a[3] monotonic ns at entry; p1 the path as given. */
static __always_inline int create_enter(s64 dfd, const char *path, u64 flags, u64 mode)
{
    if (!(flags & X_O_CREAT) || (flags & X_O_TMPFILE) == X_O_TMPFILE)
        return 0;
    if (skip(SLOT_CREATE_FILE, current_tgid(), 1))
        return 0;
    struct sys_ev *e = sys_begin(DT_CREATE_FILE);
    if (!e)
        return 0;
    e->a[0] = dfd;
    e->a[1] = flags;
    e->a[2] = mode;
    e->a[3] = bpf_ktime_get_ns();
    bpf_probe_read_user_str(e->p1, sizeof(e->p1), path);
    sys_stash(e);
    return 0;
}

static __always_inline int create_exit(long ret)
{
    return sys_finish(DT_CREATE_FILE, SLOT_CREATE_FILE, ret, ret >= 0);
}

#define AT_FDCWD_ -100
#if defined(HAVE_syscalls__sys_enter_open)
TRACEPOINT_PROBE(syscalls, sys_enter_open)
{
    return create_enter(AT_FDCWD_, args->filename, args->flags, args->mode);
}
TRACEPOINT_PROBE(syscalls, sys_exit_open)
{
    return create_exit(args->ret);
}
#endif
#if defined(HAVE_syscalls__sys_enter_openat)
TRACEPOINT_PROBE(syscalls, sys_enter_openat)
{
    return create_enter((s32)args->dfd, args->filename, args->flags, args->mode);
}
TRACEPOINT_PROBE(syscalls, sys_exit_openat)
{
    return create_exit(args->ret);
}
#endif
#if defined(HAVE_syscalls__sys_enter_openat2)
TRACEPOINT_PROBE(syscalls, sys_enter_openat2)
{
    u64 how[2] = {}; /* struct open_how: flags, mode, resolve */
    if (bpf_probe_read_user(how, sizeof(how), args->how))
        return 0;
    return create_enter((s32)args->dfd, args->filename, how[0], how[1]);
}
TRACEPOINT_PROBE(syscalls, sys_exit_openat2)
{
    return create_exit(args->ret);
}
#endif
#if defined(HAVE_syscalls__sys_enter_creat)
TRACEPOINT_PROBE(syscalls, sys_enter_creat)
{
    return create_enter(AT_FDCWD_, args->pathname, X_O_CREAT | 01 | 01000, args->mode);
}
TRACEPOINT_PROBE(syscalls, sys_exit_creat)
{
    return create_exit(args->ret);
}
#endif
#endif /* ENABLE_CREATE_FILE */

/* ---- rename and link: a[0] old dirfd, a[1] new dirfd, p1 old, p2 new ---------------- */

static __always_inline int two_paths_enter(u32 type, u32 slot, s64 olddfd, const char *oldname,
                                           s64 newdfd, const char *newname)
{
    if (skip(slot, current_tgid(), 1))
        return 0;
    struct sys_ev *e = sys_begin(type);
    if (!e)
        return 0;
    e->a[0] = olddfd;
    e->a[1] = newdfd;
    bpf_probe_read_user_str(e->p1, sizeof(e->p1), oldname);
    bpf_probe_read_user_str(e->p2, sizeof(e->p2), newname);
    sys_stash(e);
    return 0;
}

#if defined(ENABLE_RENAME)
#if defined(HAVE_syscalls__sys_enter_rename)
TRACEPOINT_PROBE(syscalls, sys_enter_rename)
{
    return two_paths_enter(DT_RENAME, SLOT_RENAME, -100, args->oldname, -100, args->newname);
}
TRACEPOINT_PROBE(syscalls, sys_exit_rename)
{
    return sys_finish(DT_RENAME, SLOT_RENAME, args->ret, args->ret == 0);
}
#endif
#if defined(HAVE_syscalls__sys_enter_renameat)
TRACEPOINT_PROBE(syscalls, sys_enter_renameat)
{
    return two_paths_enter(DT_RENAME, SLOT_RENAME, (s32)args->olddfd, args->oldname,
                           (s32)args->newdfd, args->newname);
}
TRACEPOINT_PROBE(syscalls, sys_exit_renameat)
{
    return sys_finish(DT_RENAME, SLOT_RENAME, args->ret, args->ret == 0);
}
#endif
#if defined(HAVE_syscalls__sys_enter_renameat2)
TRACEPOINT_PROBE(syscalls, sys_enter_renameat2)
{
    return two_paths_enter(DT_RENAME, SLOT_RENAME, (s32)args->olddfd, args->oldname,
                           (s32)args->newdfd, args->newname);
}
TRACEPOINT_PROBE(syscalls, sys_exit_renameat2)
{
    return sys_finish(DT_RENAME, SLOT_RENAME, args->ret, args->ret == 0);
}
#endif
#endif /* ENABLE_RENAME */

#if defined(ENABLE_LINK)
#if defined(HAVE_syscalls__sys_enter_link)
TRACEPOINT_PROBE(syscalls, sys_enter_link)
{
    return two_paths_enter(DT_LINK, SLOT_LINK, -100, args->oldname, -100, args->newname);
}
TRACEPOINT_PROBE(syscalls, sys_exit_link)
{
    return sys_finish(DT_LINK, SLOT_LINK, args->ret, args->ret == 0);
}
#endif
#if defined(HAVE_syscalls__sys_enter_linkat)
TRACEPOINT_PROBE(syscalls, sys_enter_linkat)
{
    return two_paths_enter(DT_LINK, SLOT_LINK, (s32)args->olddfd, args->oldname,
                           (s32)args->newdfd, args->newname);
}
TRACEPOINT_PROBE(syscalls, sys_exit_linkat)
{
    return sys_finish(DT_LINK, SLOT_LINK, args->ret, args->ret == 0);
}
#endif
#endif /* ENABLE_LINK */

/* ---- mount: p1 device, p2 mount point, p3 filesystem type, a[0] flags ---------------- */

#if defined(ENABLE_MOUNT) && defined(HAVE_syscalls__sys_enter_mount)
TRACEPOINT_PROBE(syscalls, sys_enter_mount)
{
    if (skip(SLOT_MOUNT, current_tgid(), 1))
        return 0;
    struct sys_ev *e = sys_begin(DT_MOUNT);
    if (!e)
        return 0;
    e->a[0] = args->flags;
    bpf_probe_read_user_str(e->p1, sizeof(e->p1), args->dev_name);
    bpf_probe_read_user_str(e->p2, sizeof(e->p2), args->dir_name);
    bpf_probe_read_user_str(e->p3, sizeof(e->p3), args->type);
    sys_stash(e);
    return 0;
}
TRACEPOINT_PROBE(syscalls, sys_exit_mount)
{
    return sys_finish(DT_MOUNT, SLOT_MOUNT, args->ret, args->ret == 0);
}
#endif

/* ---- memfd_create: p1 name, a[0] flags ---------------------------------------------- */

#if defined(ENABLE_MEMFD_CREATE) && defined(HAVE_syscalls__sys_enter_memfd_create)
TRACEPOINT_PROBE(syscalls, sys_enter_memfd_create)
{
    if (skip(SLOT_MEMFD_CREATE, current_tgid(), 1))
        return 0;
    struct sys_ev *e = sys_begin(DT_MEMFD_CREATE);
    if (!e)
        return 0;
    e->a[0] = args->flags;
    bpf_probe_read_user_str(e->p1, sizeof(e->p1), args->uname);
    sys_stash(e);
    return 0;
}
TRACEPOINT_PROBE(syscalls, sys_exit_memfd_create)
{
    return sys_finish(DT_MEMFD_CREATE, SLOT_MEMFD_CREATE, args->ret, args->ret >= 0);
}
#endif
