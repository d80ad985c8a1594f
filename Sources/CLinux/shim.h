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

#endif
