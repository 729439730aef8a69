/* A static probe run inside containers: each argument names one attempt; it prints
 * "<name>: ok" or "<name>: <errno name>" per line, so tests can compare with Docker's defaults.
 * C because the busybox image has no libc for a Rust binary and busybox has no applet for
 * keyctl, add_key, bpf, clone3 or ptrace. Built statically by tests/src/probe.rs. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *ename(int e) {
    switch (e) {
    case EPERM: return "EPERM";
    case ENOSYS: return "ENOSYS";
    case EACCES: return "EACCES";
    case EINVAL: return "EINVAL";
    case EFAULT: return "EFAULT";
    case EROFS: return "EROFS";
    case ENOENT: return "ENOENT";
    case EBUSY: return "EBUSY";
    case E2BIG: return "E2BIG";
    case EAGAIN: return "EAGAIN";
    case ETXTBSY: return "ETXTBSY";
    default: return strerror(e);
    }
}

static void report(const char *name, long rc) {
    if (rc < 0)
        printf("%s: %s\n", name, ename(errno));
    else
        printf("%s: ok\n", name);
}

static long ptrace_other(void) {
    pid_t c = fork();
    if (c == 0) {
        if (setuid(65534) != 0) _exit(1);
        pause();
        _exit(0);
    }
    usleep(100000);
    long rc = ptrace(PTRACE_ATTACH, c, 0, 0);
    int e = errno;
    kill(c, SIGKILL);
    waitpid(c, NULL, 0);
    errno = e;
    return rc;
}

static long bpf_map(void) {
    unsigned char attr[128];
    memset(attr, 0, sizeof attr);
    /* BPF_MAP_CREATE of an array map: 1 entry of 4-byte keys and values. */
    unsigned int *a = (unsigned int *)attr;
    a[0] = 2; /* BPF_MAP_TYPE_ARRAY */
    a[1] = 4;
    a[2] = 4;
    a[3] = 1;
    return syscall(SYS_bpf, 0, attr, sizeof attr);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (int i = 1; i < argc; i++) {
        const char *n = argv[i];
        errno = 0;
        if (!strcmp(n, "mount")) report(n, mount("none", "/dev/shm", "tmpfs", 0, NULL));
        else if (!strcmp(n, "unshare-mnt")) report(n, unshare(CLONE_NEWNS));
        else if (!strcmp(n, "unshare-user")) report(n, unshare(CLONE_NEWUSER));
        else if (!strcmp(n, "keyctl")) report(n, syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3, 0));
        else if (!strcmp(n, "add_key")) report(n, syscall(SYS_add_key, "user", "rdocker-probe", "v", 1, -3));
        else if (!strcmp(n, "bpf")) report(n, bpf_map());
        else if (!strcmp(n, "clone3")) report(n, syscall(SYS_clone3, NULL, 0));
        else if (!strcmp(n, "ptrace-other")) report(n, ptrace_other());
        else if (!strcmp(n, "getpid")) report(n, getpid());
        else if (!strcmp(n, "ids")) printf("ids: uid=%d euid=%d\n", getuid(), geteuid());
        else if (!strncmp(n, "write=", 6)) {
            int fd = open(n + 6, O_WRONLY);
            report(n, fd);
            if (fd >= 0) close(fd);
        } else if (!strncmp(n, "open=", 5)) {
            int fd = open(n + 5, O_RDONLY);
            report(n, fd);
            if (fd >= 0) close(fd);
        } else printf("%s: unknown probe\n", n);
    }
    return 0;
}
