/*
 * libsystemd's sd_notify(0, "WATCHDOG=1") in a loop, as a C service calls it
 * (it reads NOTIFY_SOCKET and opens a socket on every call).
 * usage: sd_notify_loop WARMUP ITERATIONS ROUNDS [GAP_US]   (link with -lsystemd)
 */
#include <stdio.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "_loop.h"

static int send_one(void) {
  int result = sd_notify(0, "WATCHDOG=1");
  if (result > 0) return 0;
  fprintf(stderr, "sd_notify returned %d (%s)\n", result, result < 0 ? strerror(-result) : "no socket");
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: NOTIFY_SOCKET=/path sd_notify_loop WARMUP ITERATIONS ROUNDS [GAP_US]\n");
    return 2;
  }
  return run_loop(argv[1], argv[2], argv[3], argc == 5 ? argv[4] : NULL);
}
