/*
 * Linked into the glibc prebuilds only (scripts/build_prebuilds.ts, with
 * -Wl,--wrap=lstat): glibc 2.33 turned lstat() into an exported symbol
 * (lstat@GLIBC_2.33), so a binary built on Debian 12 would refuse to load on
 * glibc 2.28-2.32 (RHEL 8, Debian 11, Ubuntu 20.04), all of which Node 20
 * supports. The same call through the raw newfstatat system call needs no new
 * symbol; on x86-64 and aarch64 the kernel's struct stat is glibc's.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int __wrap_lstat(const char *path, struct stat *buffer);

int __wrap_lstat(const char *path, struct stat *buffer) {
  return (int)syscall(SYS_newfstatat, AT_FDCWD, path, buffer, AT_SYMLINK_NOFOLLOW);
}
