#ifndef TRADEDESK_CLINUX_SHIM_H
#define TRADEDESK_CLINUX_SHIM_H
// Linux calls Swift cannot make directly: GNU extensions Glibc does not show, or packed structs (epoll_event).

#include <stdint.h>
#include <unistd.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>

/// Names a thread (shown by top -H, gdb and perf), at most 15 bytes: pthread_setname_np is a GNU
/// extension that Swift's Glibc module does not show.
int pthread_setname_np(pthread_t thread, const char *name);
static inline void tradedesk_name_thread(pthread_t thread, const char *name) {
    pthread_setname_np(thread, name);
}

static inline int tradedesk_eventfd(void) {
    return eventfd(0, EFD_CLOEXEC);
}

/// A descriptor that becomes readable when one of `signals` (blocked in every thread) is pending;
/// reading it takes the signal, as sigwait would.
static inline int tradedesk_signalfd(const sigset_t *signals) {
    return signalfd(-1, signals, SFD_CLOEXEC);
}

/// The number of the signal taken by one read of a signalfd, or -1 with errno.
static inline int tradedesk_signalfd_read(int fd) {
    struct signalfd_siginfo info;
    if (read(fd, &info, sizeof info) != (ssize_t)sizeof info) return -1;
    return (int)info.ssi_signo;
}

// struct epoll_event is packed on x86_64, which Swift imports poorly: these wrappers keep it in C.

/// Watches `fd` for input (on a listener: a connection to accept) or for the peer closing it;
/// `token` comes back from tradedesk_epoll_wait.
static inline int tradedesk_epoll_watch(int epfd, int fd, uint64_t token) {
    struct epoll_event event;
    event.events = EPOLLIN | EPOLLRDHUP;
    event.data.u64 = token;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
}

/// As tradedesk_epoll_watch, for one event only: the descriptor is reported to one waiter, and
/// then not again until it is watched anew. `rearm`: it is still in the set, disarmed, since its
/// last event (one call instead of a removal and an addition); else, or if it is not, it is added.
static inline int tradedesk_epoll_watch_once(int epfd, int fd, uint64_t token, int rearm) {
    struct epoll_event event;
    event.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
    event.data.u64 = token;
    if (rearm && epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &event) == 0) return 0;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
}

/// An eventfd that counts: each read takes one, and a read of a zero count fails with EAGAIN.
static inline int tradedesk_counting_eventfd(void) {
    return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK | EFD_SEMAPHORE);
}

static inline int tradedesk_epoll_unwatch(int epfd, int fd) {
    struct epoll_event event = {0};
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &event);
}

/// Waits for events and copies out their tokens; returns the count, or -1 with errno.
static inline int tradedesk_epoll_wait(int epfd, uint64_t *tokens, int capacity, int timeoutMs) {
    struct epoll_event events[256];
    if (capacity > 256) capacity = 256;
    int n = epoll_wait(epfd, events, capacity, timeoutMs);
    for (int i = 0; i < n; i++) tokens[i] = events[i].data.u64;
    return n;
}

// SCM_RIGHTS needs cmsg macros, which Swift cannot use.

enum { TRADEDESK_FDS_PER_MESSAGE = 250 };

/// Sends up to TRADEDESK_FDS_PER_MESSAGE descriptors over a unix stream socket, with one byte of
/// data; returns the bytes sent (1), or -1 with errno.
static inline int tradedesk_send_fds(int sock, const int *fds, int count) {
    if (count > TRADEDESK_FDS_PER_MESSAGE) count = TRADEDESK_FDS_PER_MESSAGE;
    char byte = 'F';
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    union { char buffer[CMSG_SPACE(sizeof(int) * TRADEDESK_FDS_PER_MESSAGE)]; struct cmsghdr align; } control;
    memset(&control, 0, sizeof control);
    struct msghdr message = {0};
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control.buffer;
    message.msg_controllen = CMSG_SPACE(sizeof(int) * count);
    struct cmsghdr *header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_RIGHTS;
    header->cmsg_len = CMSG_LEN(sizeof(int) * count);
    memcpy(CMSG_DATA(header), fds, sizeof(int) * count);
    return (int)sendmsg(sock, &message, MSG_NOSIGNAL);
}

/// Receives one message of tradedesk_send_fds: returns its data bytes (0 at the end of the stream),
/// or -1 with errno; the descriptors (close-on-exec) go to `fds`, their count to `received`.
static inline int tradedesk_receive_fds(int sock, int *fds, int capacity, int *received) {
    char byte;
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    union { char buffer[CMSG_SPACE(sizeof(int) * TRADEDESK_FDS_PER_MESSAGE)]; struct cmsghdr align; } control;
    struct msghdr message = {0};
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control.buffer;
    message.msg_controllen = sizeof control.buffer;
    *received = 0;
    ssize_t bytes = recvmsg(sock, &message, MSG_CMSG_CLOEXEC);
    if (bytes <= 0) return (int)bytes;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        int count = (int)((header->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int index = 0; index < count; index++) {
            int fd;
            memcpy(&fd, CMSG_DATA(header) + index * sizeof(int), sizeof fd);
            if (*received < capacity) fds[(*received)++] = fd; else close(fd);
        }
    }
    return (int)bytes;
}

/// The user id of the process at the other end of a unix socket, or -1. (glibc shows `struct ucred`
/// only to _GNU_SOURCE; this is its layout.)
static inline long tradedesk_peer_uid(int sock) {
    struct { pid_t pid; uid_t uid; gid_t gid; } credentials;
    socklen_t length = sizeof credentials;
    if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0) return -1;
    return (long)credentials.uid;
}

#endif
