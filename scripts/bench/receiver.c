/*
 * The one notification receiver every benchmark sends to: an AF_UNIX datagram
 * socket bound to argv[1], drained as fast as one thread can, like a service
 * manager that keeps up.
 *
 * - Every datagram is counted; descriptors that arrive with it (SCM_RIGHTS,
 *   e.g. systemd-notify's BARRIER=1 pipe) are closed at once, so a sender
 *   waiting for the hang-up is released as the real manager would release it.
 * - A datagram whose first assignment is READY=1 prints "ready <ns>" on stdout,
 *   <ns> being CLOCK_MONOTONIC at arrival (for cold-start figures).
 * - stdin takes commands, one per line: "count" prints "count <n>"; "reset"
 *   sets the count to 0 and prints "reset"; "quit" (or EOF) removes the socket
 *   file and exits.
 * - Once bound it prints "listening".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static atomic_ulong message_count;
static pthread_mutex_t output_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *socket_path;

/* Prints "<word>" or "<word> <value>" as one line, whole, whichever thread calls. */
static void say(const char *word, const unsigned long long *value) {
  pthread_mutex_lock(&output_lock);
  if (value == NULL) printf("%s\n", word);
  else printf("%s %llu\n", word, *value);
  fflush(stdout);
  pthread_mutex_unlock(&output_lock);
}

static unsigned long long monotonic_ns(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (unsigned long long)now.tv_sec * 1000000000ull + (unsigned long long)now.tv_nsec;
}

/* Closes every descriptor carried by `message`. */
static void close_passed_fds(struct msghdr *message) {
  for (struct cmsghdr *header = CMSG_FIRSTHDR(message); header != NULL;
       header = CMSG_NXTHDR(message, header)) {
    if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    int *fds = (int *)CMSG_DATA(header);
    for (size_t i = 0; i < count; i++) close(fds[i]);
  }
}

/* Reads commands from stdin until "quit" or EOF, then exits the process. */
static void *command_loop(void *unused) {
  (void)unused;
  char line[64];
  while (fgets(line, sizeof line, stdin) != NULL) {
    if (strncmp(line, "count", 5) == 0) {
      unsigned long long count = atomic_load(&message_count);
      say("count", &count);
    } else if (strncmp(line, "reset", 5) == 0) {
      atomic_store(&message_count, 0);
      say("reset", NULL);
    } else if (strncmp(line, "quit", 4) == 0) {
      break;
    }
  }
  unlink(socket_path);
  exit(0);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2 || strlen(argv[1]) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
    fprintf(stderr, "usage: receiver SOCKET_PATH\n");
    return 2;
  }
  socket_path = argv[1];
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    perror("socket");
    return 1;
  }
  struct sockaddr_un address = {.sun_family = AF_UNIX};
  strcpy(address.sun_path, socket_path);
  unlink(socket_path);
  if (bind(fd, (struct sockaddr *)&address, sizeof address) < 0) {
    perror("bind");
    return 1;
  }
  pthread_t commands;
  if (pthread_create(&commands, NULL, command_loop, NULL) != 0) {
    fprintf(stderr, "pthread_create failed\n");
    return 1;
  }
  say("listening", NULL);

  char payload[4097];
  union {
    char buffer[CMSG_SPACE(sizeof(int) * 253) + CMSG_SPACE(sizeof(struct ucred))];
    struct cmsghdr align;
  } control;
  for (;;) {
    struct iovec vector = {.iov_base = payload, .iov_len = sizeof payload - 1};
    struct msghdr message = {
        .msg_iov = &vector,
        .msg_iovlen = 1,
        .msg_control = control.buffer,
        .msg_controllen = sizeof control.buffer,
    };
    ssize_t length = recvmsg(fd, &message, MSG_CMSG_CLOEXEC);
    if (length < 0) {
      if (errno == EINTR) continue;
      perror("recvmsg");
      return 1;
    }
    if (message.msg_controllen > 0) close_passed_fds(&message);
    atomic_fetch_add_explicit(&message_count, 1, memory_order_relaxed);
    if (length >= 7 && memcmp(payload, "READY=1", 7) == 0 && (length == 7 || payload[7] == '\n')) {
      unsigned long long arrived = monotonic_ns();
      say("ready", &arrived);
    }
  }
}
