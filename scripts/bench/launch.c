/*
 * Starts a command COUNT times, one after the other, and times each run with
 * CLOCK_MONOTONIC (the clock the receiver stamps READY=1 with). Prints one line
 * per run: "<start_ns> <exit_ns> <wait_status> <cpu_ns>", the last being the
 * child's CPU time (user + system, from wait4). The child's stdout goes to
 * /dev/null; stdin, stderr and the environment are inherited.
 * usage: launch COUNT COMMAND [ARGUMENT...]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static unsigned long long monotonic_ns(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (unsigned long long)now.tv_sec * 1000000000ull + (unsigned long long)now.tv_nsec;
}

int main(int argc, char **argv) {
  long count = argc >= 3 ? atol(argv[1]) : 0;
  if (count <= 0) {
    fprintf(stderr, "usage: launch COUNT COMMAND [ARGUMENT...]\n");
    return 2;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  for (long run = 0; run < count; run++) {
    pid_t child;
    unsigned long long started = monotonic_ns();
    int failure = posix_spawnp(&child, argv[2], &actions, NULL, argv + 2, environ);
    if (failure != 0) {
      fprintf(stderr, "posix_spawnp %s failed: %d\n", argv[2], failure);
      return 1;
    }
    int status;
    struct rusage usage;
    if (wait4(child, &status, 0, &usage) < 0) {
      perror("wait4");
      return 1;
    }
    unsigned long long exited = monotonic_ns();
    unsigned long long cpu =
        ((unsigned long long)usage.ru_utime.tv_sec + (unsigned long long)usage.ru_stime.tv_sec) *
            1000000000ull +
        ((unsigned long long)usage.ru_utime.tv_usec + (unsigned long long)usage.ru_stime.tv_usec) *
            1000ull;
    printf("%llu %llu %d %llu\n", started, exited, status, cpu);
  }
  fflush(stdout);
  return 0;
}
