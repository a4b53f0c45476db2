/*
 * Loads the musl prebuild under musl's own dynamic linker, with no Node: this
 * program stands in for the runtime by exporting (-rdynamic) every napi_*
 * symbol the addon imports. It checks that the shared object links against
 * musl, that napi_register_module_v1 registers as many functions as ffi/binding.c
 * exports (the count is passed in), and calls
 * two of them (monotonicUsec and isDirectory) for real. Built and run by
 * `scripts/build_prebuilds.ts`, which also generates the trivial stubs (each
 * returns napi_ok) for the remaining napi_* symbols into a second file.
 *
 * Usage: build_prebuilds_musl_smoke <addon.node> <function count>; exit code 0 when all is well.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void *value;
typedef value (*callback)(void *env, void *info);

/* The fields of napi_property_descriptor this host reads (same layout). */
struct property {
  const char *utf8name;
  value name;
  callback method;
  callback getter;
  callback setter;
  value value_;
  int attributes;
  void *data;
};

static struct property registered[32];
static size_t registered_count;
static uint64_t last_bigint;
static int last_boolean = -1;
static const char *next_argument;

int napi_define_properties(void *env, value object, size_t count, const struct property *properties) {
  (void)env; (void)object;
  for (size_t i = 0; i < count && registered_count < 32; i++) registered[registered_count++] = properties[i];
  return 0;
}

int napi_create_bigint_uint64(void *env, uint64_t number, value *result) {
  (void)env;
  last_bigint = number;
  *result = (value)1;
  return 0;
}

int napi_get_boolean(void *env, int flag, value *result) {
  (void)env;
  last_boolean = flag;
  *result = (value)1;
  return 0;
}

int napi_get_cb_info(void *env, void *info, size_t *argc, value *argv, value *self, void **data) {
  (void)env; (void)info; (void)self;
  if (argc != NULL && argv != NULL && *argc > 0) argv[0] = (value)next_argument;
  if (argc != NULL) *argc = 1;
  if (data != NULL) *data = NULL;
  return 0;
}

/* Strings are passed as plain C strings in this host. */
int napi_get_value_string_utf8(void *env, value text, char *buffer, size_t size, size_t *length) {
  (void)env;
  size_t n = strlen((const char *)text);
  if (buffer == NULL) {
    *length = n;
    return 0;
  }
  if (n >= size) n = size - 1;
  memcpy(buffer, text, n);
  buffer[n] = '\0';
  if (length != NULL) *length = n;
  return 0;
}

static callback find(const char *name) {
  for (size_t i = 0; i < registered_count; i++) {
    if (strcmp(registered[i].utf8name, name) == 0) return registered[i].method;
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 3) return 2; /* usage: host ADDON EXPECTED_FUNCTION_COUNT */
  void *addon = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (addon == NULL) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 1;
  }
  value (*init)(void *, value) = (value(*)(void *, value))dlsym(addon, "napi_register_module_v1");
  if (init == NULL) {
    fprintf(stderr, "no napi_register_module_v1\n");
    return 1;
  }
  init((void *)1, (value)2);
  printf("registered %zu functions:", registered_count);
  for (size_t i = 0; i < registered_count; i++) printf(" %s", registered[i].utf8name);
  printf("\n");

  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  uint64_t before = (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
  callback monotonic = find("monotonicUsec");
  callback is_directory = find("isDirectory");
  if (registered_count != strtoul(argv[2], NULL, 10) || monotonic == NULL || is_directory == NULL) return 1;
  monotonic((void *)1, NULL);
  printf("monotonicUsec: %llu (host %llu)\n", (unsigned long long)last_bigint, (unsigned long long)before);
  if (last_bigint < before || last_bigint - before > 10000000u) return 1;
  next_argument = "/tmp";
  is_directory((void *)1, NULL);
  int tmp = last_boolean;
  next_argument = "/etc/hostname-does-not-exist";
  is_directory((void *)1, NULL);
  printf("isDirectory: /tmp %d, a missing path %d\n", tmp, last_boolean);
  return tmp == 1 && last_boolean == 0 ? 0 : 1;
}
