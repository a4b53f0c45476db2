/*
 * The practical limit: "WATCHDOG=1" sent with sendto(2) on one kept, blocking
 * AF_UNIX datagram socket to the address in NOTIFY_SOCKET (a path).
 * Compiled with -DCONNECTED (the raw_send_connected program), the socket is
 * connected to that address once and each message is a send(2): the kernel
 * then skips looking the path up, which is what this module does.
 * usage: raw_sendto WARMUP ITERATIONS ROUNDS [GAP_US]
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "_loop.h"

static const char message[] = "WATCHDOG=1";
static int socket_fd;
static struct sockaddr_un address = {.sun_family = AF_UNIX};
static socklen_t address_length;

static int send_one(void) {
#ifdef CONNECTED
  ssize_t sent = send(socket_fd, message, sizeof message - 1, MSG_NOSIGNAL);
#else
  ssize_t sent = sendto(socket_fd, message, sizeof message - 1, MSG_NOSIGNAL,
                        (struct sockaddr *)&address, address_length);
#endif
  if (sent == (ssize_t)(sizeof message - 1)) return 0;
  perror("sendto");
  return 1;
}

int main(int argc, char **argv) {
  const char *path = getenv("NOTIFY_SOCKET");
  if ((argc != 4 && argc != 5) || path == NULL || path[0] != '/' ||
      strlen(path) >= sizeof address.sun_path) {
    fprintf(stderr, "usage: NOTIFY_SOCKET=/path raw_sendto WARMUP ITERATIONS ROUNDS [GAP_US]\n");
    return 2;
  }
  strcpy(address.sun_path, path);
  address_length = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
  socket_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (socket_fd < 0) {
    perror("socket");
    return 1;
  }
#ifdef CONNECTED
  if (connect(socket_fd, (struct sockaddr *)&address, address_length) < 0) {
    perror("connect");
    return 1;
  }
#endif
  return run_loop(argv[1], argv[2], argv[3], argc == 5 ? argv[4] : NULL);
}
