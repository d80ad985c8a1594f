/*
 * The bench's bare libfcgi ceiling: every request is answered with the same small JSON, as
 * fastcgi-fixture answers /api/health, so that the table shows what libfcgi behind nginx allows
 * with no responder code at all. Test-only: bench/tdbench builds it with `cc ... -lfcgi` into its
 * temporary directory for each run; it is never installed.
 *
 *   constant SOCKET THREADS
 *
 * Each thread loops on FCGX_Accept_r with ONE FCGX_Request of its own. That is what lets
 * `fastcgi_keep_conn on` work: FCGX_Finish_r leaves a kept connection open, and the next
 * FCGX_Accept_r on the same struct reads the next request from it instead of calling accept().
 * There is no accept mutex (accept() is thread-safe): libfcgi's threaded example holds one around
 * accept(), which deadlocks once threads wait on kept connections nginx is not sending on.
 * The socket's group is FCGI_SOCKET_GROUP when set (nginx's workers run as www-data under root).
 */
#include <fcgiapp.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int listen_fd;

static const char answer[] =
    "Status: 200 OK\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 10\r\n"
    "\r\n"
    "{\"held\":0}";

static void *serve(void *unused) {
    (void)unused;
    FCGX_Request *request = malloc(sizeof *request);
    if (request == NULL || FCGX_InitRequest(request, listen_fd, 0) != 0) {
        fprintf(stderr, "constant: FCGX_InitRequest failed\n");
        exit(1);
    }
    while (FCGX_Accept_r(request) >= 0) {
        FCGX_PutStr(answer, sizeof answer - 1, request->out);
    }
    return NULL;
}

/* libfcgi's own SIGTERM handler only sets a flag that threads blocked in read() never see: the
 * harness stops this program with SIGTERM and expects a clean exit. */
static void stop(int signal_number) {
    (void)signal_number;
    _exit(0);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s SOCKET THREADS\n", argv[0]);
        return 2;
    }
    int threads = atoi(argv[2]);
    if (threads < 1) {
        fprintf(stderr, "constant: THREADS must be at least 1\n");
        return 2;
    }
    if (FCGX_Init() != 0) {
        fprintf(stderr, "constant: FCGX_Init failed\n");
        return 1;
    }
    listen_fd = FCGX_OpenSocket(argv[1], 4096);
    if (listen_fd < 0) {
        fprintf(stderr, "constant: cannot listen on %s\n", argv[1]);
        return 1;
    }
    const char *group_name = getenv("FCGI_SOCKET_GROUP");
    if (group_name != NULL && *group_name != '\0') {
        struct group *group = getgrnam(group_name);
        if (group == NULL || chown(argv[1], (uid_t)-1, group->gr_gid) != 0 || chmod(argv[1], 0660) != 0) {
            fprintf(stderr, "constant: cannot give %s to group %s\n", argv[1], group_name);
            return 1;
        }
    }
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = stop;
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);

    pthread_t ids[threads];
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&ids[i], NULL, serve, NULL) != 0) {
            fprintf(stderr, "constant: cannot start thread %d\n", i);
            return 1;
        }
    }
    for (int i = 0; i < threads; i++) pthread_join(ids[i], NULL);
    return 0;
}
