/*
 * The timing loop shared by the C per-message references: `warmup` untimed
 * sends, then `rounds` timed rounds of `iterations` sends, each round printed
 * as one line "<wall_ns> <cpu_ns>": wall-clock and process CPU time (user +
 * system, getrusage) per message. With a gap of G > 0 µs, every send is
 * preceded by G µs of busy waiting (so the receiver has drained and sleeps, as
 * a manager does between watchdog pings) and only the sends are timed; the
 * line is then "<wall_ns> -". The includer defines
 * `send_one()`, returning 0 on success.
 */
#ifndef BENCH_LOOP_H
#define BENCH_LOOP_H
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static int send_one(void);

static double loop_now_ns(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec * 1e9 + (double)now.tv_nsec;
}

static double loop_cpu_ns(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return ((double)usage.ru_utime.tv_sec + (double)usage.ru_stime.tv_sec) * 1e9 +
         ((double)usage.ru_utime.tv_usec + (double)usage.ru_stime.tv_usec) * 1e3;
}

/* Runs the loop described above; returns the process exit status. */
static int run_loop(const char *warmup_text, const char *iterations_text, const char *rounds_text,
                    const char *gap_text) {
  long warmup = atol(warmup_text), iterations = atol(iterations_text), rounds = atol(rounds_text);
  double gap_ns = gap_text == NULL ? 0 : atof(gap_text) * 1e3;
  if (iterations <= 0 || rounds <= 0 || warmup < 0) {
    fprintf(stderr, "iterations and rounds must be positive\n");
    return 2;
  }
  for (long i = 0; i < warmup; i++) {
    if (send_one() != 0) return 1;
  }
  for (long round = 0; round < rounds && gap_ns > 0; round++) {
    double sending = 0;
    for (long i = 0; i < iterations; i++) {
      double until = loop_now_ns() + gap_ns;
      while (loop_now_ns() < until) continue;
      double started = loop_now_ns();
      if (send_one() != 0) return 1;
      sending += loop_now_ns() - started;
    }
    printf("%.1f -\n", sending / (double)iterations);
  }
  for (long round = 0; round < rounds && gap_ns <= 0; round++) {
    double started = loop_now_ns(), cpu_started = loop_cpu_ns();
    for (long i = 0; i < iterations; i++) {
      if (send_one() != 0) return 1;
    }
    double wall = loop_now_ns() - started, cpu = loop_cpu_ns() - cpu_started;
    printf("%.1f %.1f\n", wall / (double)iterations, cpu / (double)iterations);
  }
  return 0;
}
#endif
