/*
 * The Node backend of @systemd-js/daemon: the few libc calls that sd_notify
 * and socket activation need, as a small N-API addon (it also loads in Bun and
 * Deno). One function per method of the Backend interface in src/_backend.ts.
 *
 * Conventions:
 * - send() reports a failed system call as a positive errno and never throws
 *   for it (EAGAIN is an expected outcome); it allocates nothing.
 * - Every other function throws an Error carrying `code` (the errno name),
 *   `errno` and `syscall`; ffi/node.ts turns it into a SystemdError.
 * - Wrong argument types throw TypeError, out-of-range values RangeError.
 * - Off Linux every function throws ENOSYS: systemd is Linux-only.
 */
#define _GNU_SOURCE
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#include <node_api.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- N-API plumbing, shared by the Linux build and the stub ------------- */

enum error_kind { PLAIN_ERROR, TYPE_ERROR, RANGE_ERROR };

/*
 * Throws an Error, TypeError or RangeError. If throwing itself fails, the
 * environment is shutting down and nothing sensible is left to do: this is the
 * one N-API status deliberately ignored.
 */
static void throw_message(napi_env env, enum error_kind kind, const char *message) {
  napi_status status = kind == TYPE_ERROR    ? napi_throw_type_error(env, NULL, message)
                       : kind == RANGE_ERROR ? napi_throw_range_error(env, NULL, message)
                                             : napi_throw_error(env, NULL, message);
  (void)status;
}

/* Throws for a failed N-API call, unless that call already left an exception. */
static void throw_status(napi_env env, napi_status status) {
  const napi_extended_error_info *info = NULL;
  const char *message = "N-API call failed";
  if (napi_get_last_error_info(env, &info) == napi_ok && info != NULL &&
      info->error_message != NULL) {
    message = info->error_message;
  }
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) != napi_ok || pending) return;
  switch (status) {
    case napi_object_expected:
    case napi_string_expected:
    case napi_number_expected:
    case napi_boolean_expected:
    case napi_array_expected:
    case napi_bigint_expected:
      throw_message(env, TYPE_ERROR, message);
      break;
    default:
      throw_message(env, PLAIN_ERROR, message);
      break;
  }
}

static bool ok(napi_env env, napi_status status) {
  if (status == napi_ok) return true;
  throw_status(env, status);
  return false;
}

/* For functions returning napi_value, and for helpers returning bool. */
#define CHECK(call) \
  do { if (!ok(env, (call))) return NULL; } while (0)
#define CHECK_BOOL(call) \
  do { if (!ok(env, (call))) return false; } while (0)

/* Throws `new Error(message)` with `code`, `errno` and `syscall` set. */
static napi_value throw_system_error(napi_env env, const char *code, int errnum,
                                     const char *syscall, const char *message) {
  napi_value code_value, message_value, error, errno_value, syscall_value;
  CHECK(napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value));
  CHECK(napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &message_value));
  CHECK(napi_create_error(env, code_value, message_value, &error));
  CHECK(napi_create_int32(env, errnum, &errno_value));
  CHECK(napi_set_named_property(env, error, "errno", errno_value));
  CHECK(napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value));
  CHECK(napi_set_named_property(env, error, "syscall", syscall_value));
  CHECK(napi_throw(env, error));
  return NULL;
}

#ifdef __linux__

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* At most this many fds in one message (SCM_MAX_FD in the kernel, minus what systemd reserves). */
#define MAX_FDS 253

#define NAME(e) case e: return #e

/* The name of a Linux errno, or NULL for one not listed here. */
static const char *errno_name(int errnum) {
  switch (errnum) {
    NAME(EPERM); NAME(ENOENT); NAME(ESRCH); NAME(EINTR); NAME(EIO); NAME(ENXIO);
    NAME(E2BIG); NAME(EBADF); NAME(EAGAIN); NAME(ENOMEM); NAME(EACCES); NAME(EFAULT);
    NAME(EBUSY); NAME(EEXIST); NAME(ENODEV); NAME(ENOTDIR); NAME(EISDIR); NAME(EINVAL);
    NAME(ENFILE); NAME(EMFILE); NAME(ENOSPC); NAME(ESPIPE); NAME(EROFS); NAME(EPIPE);
    NAME(ERANGE); NAME(ENAMETOOLONG); NAME(ENOSYS); NAME(ELOOP); NAME(ENOTSOCK);
    NAME(EDESTADDRREQ); NAME(EMSGSIZE); NAME(EPROTOTYPE); NAME(ENOPROTOOPT);
    NAME(EPROTONOSUPPORT); NAME(ESOCKTNOSUPPORT); NAME(EOPNOTSUPP); NAME(EAFNOSUPPORT);
    NAME(EADDRINUSE); NAME(EADDRNOTAVAIL); NAME(ENETDOWN); NAME(ENETUNREACH);
    NAME(ECONNABORTED); NAME(ECONNRESET); NAME(ENOBUFS); NAME(EISCONN); NAME(ENOTCONN);
    NAME(ESHUTDOWN); NAME(ETOOMANYREFS); NAME(ETIMEDOUT); NAME(ECONNREFUSED);
    NAME(EHOSTUNREACH); NAME(EALREADY); NAME(EINPROGRESS);
    default: return NULL;
  }
}

/* Throws the error of a failed system call; `errnum` must be read right after it. */
static napi_value throw_errno(napi_env env, const char *syscall, int errnum) {
  char code_buffer[16];
  const char *code = errno_name(errnum);
  if (code == NULL) {
    snprintf(code_buffer, sizeof code_buffer, "E%d", errnum);
    code = code_buffer;
  }
  char message[96];
  snprintf(message, sizeof message, "%s failed with %s (%d)", syscall, code, errnum);
  return throw_system_error(env, code, errnum, syscall, message);
}

static bool get_int32(napi_env env, napi_value value, const char *what, int32_t *out) {
  napi_status status = napi_get_value_int32(env, value, out);
  if (status == napi_number_expected) {
    char message[64];
    snprintf(message, sizeof message, "Expected a number as \"%s\"", what);
    throw_message(env, TYPE_ERROR, message);
    return false;
  }
  return ok(env, status);
}

static bool get_uint32(napi_env env, napi_value value, const char *what, uint32_t *out) {
  napi_status status = napi_get_value_uint32(env, value, out);
  if (status == napi_number_expected) {
    char message[64];
    snprintf(message, sizeof message, "Expected a number as \"%s\"", what);
    throw_message(env, TYPE_ERROR, message);
    return false;
  }
  return ok(env, status);
}

/* The bytes of a Uint8Array; N-API's data pointer already includes byte_offset. */
static bool get_bytes(napi_env env, napi_value value, const char *what, void **data,
                      size_t *length) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t byte_offset;
  napi_status status =
      napi_get_typedarray_info(env, value, &type, length, data, &buffer, &byte_offset);
  if (status == napi_invalid_arg || (status == napi_ok && type != napi_uint8_array)) {
    char message[64];
    snprintf(message, sizeof message, "Expected a Uint8Array as \"%s\"", what);
    throw_message(env, TYPE_ERROR, message);
    return false;
  }
  return ok(env, status);
}

/* Reads the single fd argument of a function. */
static bool get_fd_arg(napi_env env, napi_callback_info info, int32_t *fd) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK_BOOL(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  return get_int32(env, argv[0], "fd", fd);
}

static bool is_nullish(napi_env env, napi_value value, bool *nullish) {
  napi_valuetype type;
  CHECK_BOOL(napi_typeof(env, value, &type));
  *nullish = type == napi_null || type == napi_undefined;
  return true;
}

static napi_value js_open_datagram_socket(napi_env env, napi_callback_info info) {
  (void)info;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  napi_value result;
  CHECK(napi_create_int32(env, fd, &result));
  return result;
}

/* connect(socket, address) → 0 or errno. */
static napi_value js_connect(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  void *address;
  size_t address_length;
  if (!get_int32(env, argv[0], "socket", &fd)) return NULL;
  if (!get_bytes(env, argv[1], "address", &address, &address_length)) return NULL;
  int result;
  do {
    result = connect(fd, (const struct sockaddr *)address, (socklen_t)address_length);
  } while (result < 0 && errno == EINTR);
  napi_value value;
  CHECK(napi_create_int32(env, result < 0 ? errno : 0, &value));
  return value;
}

/* send(socket, address or null for the connected peer, payload, length, fds, credentials)
 * → 0 or errno. */
static napi_value js_send(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));

  int32_t fd;
  void *address, *payload;
  size_t address_length, payload_length;
  int64_t length;
  bool nullish;
  if (!get_int32(env, argv[0], "socket", &fd)) return NULL;
  if (!is_nullish(env, argv[1], &nullish)) return NULL;
  if (nullish) {
    address = NULL;
    address_length = 0;
  } else if (!get_bytes(env, argv[1], "address", &address, &address_length)) {
    return NULL;
  }
  if (!get_bytes(env, argv[2], "payload", &payload, &payload_length)) return NULL;
  napi_status status = napi_get_value_int64(env, argv[3], &length);
  if (status == napi_number_expected) {
    throw_message(env, TYPE_ERROR, "Expected a number as \"length\"");
    return NULL;
  }
  CHECK(status);
  if (length < 0 || (uint64_t)length > payload_length) {
    throw_message(env, RANGE_ERROR, "The \"length\" is outside the payload");
    return NULL;
  }

  union {
    char buffer[CMSG_SPACE(sizeof(int) * MAX_FDS) + CMSG_SPACE(sizeof(struct ucred))];
    struct cmsghdr align;
  } control;
  size_t control_length = 0;

  if (!is_nullish(env, argv[4], &nullish)) return NULL;
  if (!nullish) {
    bool is_array;
    uint32_t count;
    CHECK(napi_is_array(env, argv[4], &is_array));
    if (!is_array) {
      throw_message(env, TYPE_ERROR, "Expected an array of numbers or null as \"fds\"");
      return NULL;
    }
    CHECK(napi_get_array_length(env, argv[4], &count));
    if (count > MAX_FDS) {
      throw_message(env, RANGE_ERROR, "More than 253 fds in one message");
      return NULL;
    }
    if (count > 0) {
      struct cmsghdr *header = (struct cmsghdr *)control.buffer;
      memset(header, 0, CMSG_SPACE(sizeof(int) * count));
      header->cmsg_level = SOL_SOCKET;
      header->cmsg_type = SCM_RIGHTS;
      header->cmsg_len = CMSG_LEN(sizeof(int) * count);
      unsigned char *data = CMSG_DATA(header);
      for (uint32_t i = 0; i < count; i++) {
        napi_value element;
        int32_t passed;
        CHECK(napi_get_element(env, argv[4], i, &element));
        if (!get_int32(env, element, "fds", &passed)) return NULL;
        memcpy(data + i * sizeof(int), &passed, sizeof(int));
      }
      control_length = CMSG_SPACE(sizeof(int) * count);
    }
  }

  if (!is_nullish(env, argv[5], &nullish)) return NULL;
  if (!nullish) {
    napi_value pid, uid, gid;
    struct ucred credentials;
    CHECK(napi_get_named_property(env, argv[5], "pid", &pid));
    CHECK(napi_get_named_property(env, argv[5], "uid", &uid));
    CHECK(napi_get_named_property(env, argv[5], "gid", &gid));
    if (!get_int32(env, pid, "credentials.pid", &credentials.pid)) return NULL;
    if (!get_uint32(env, uid, "credentials.uid", &credentials.uid)) return NULL;
    if (!get_uint32(env, gid, "credentials.gid", &credentials.gid)) return NULL;
    struct cmsghdr *header = (struct cmsghdr *)(control.buffer + control_length);
    memset(header, 0, CMSG_SPACE(sizeof credentials));
    header->cmsg_level = SOL_SOCKET;
    header->cmsg_type = SCM_CREDENTIALS;
    header->cmsg_len = CMSG_LEN(sizeof credentials);
    memcpy(CMSG_DATA(header), &credentials, sizeof credentials);
    control_length += CMSG_SPACE(sizeof credentials);
  }

  struct iovec iov = {.iov_base = payload, .iov_len = (size_t)length};
  struct msghdr message = {
      .msg_name = address,
      .msg_namelen = (socklen_t)address_length,
      .msg_iov = &iov,
      .msg_iovlen = 1,
      .msg_control = control_length > 0 ? control.buffer : NULL,
      .msg_controllen = control_length,
  };
  ssize_t sent;
  do {
    sent = sendmsg(fd, &message, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (sent < 0 && errno == EINTR);
  int result = sent < 0 ? errno : (size_t)sent != iov.iov_len ? EMSGSIZE : 0;

  napi_value value;
  CHECK(napi_create_int32(env, result, &value));
  return value;
}

static napi_value js_set_cloexec(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!get_fd_arg(env, info, &fd)) return NULL;
  int flags = fcntl(fd, F_GETFD);
  if (flags < 0) return throw_errno(env, "fcntl", errno);
  if (!(flags & FD_CLOEXEC) && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0) {
    return throw_errno(env, "fcntl", errno);
  }
  napi_value undefined;
  CHECK(napi_get_undefined(env, &undefined));
  return undefined;
}

static bool set_int_property(napi_env env, napi_value object, const char *name, int value) {
  napi_value number;
  CHECK_BOOL(napi_create_int32(env, value, &number));
  CHECK_BOOL(napi_set_named_property(env, object, name, number));
  return true;
}

static napi_value js_describe_socket(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!get_fd_arg(env, info, &fd)) return NULL;
  int domain, type, listening;
  socklen_t length = sizeof domain;
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) < 0) {
    if (errno == ENOTSOCK) {
      napi_value null;
      CHECK(napi_get_null(env, &null));
      return null;
    }
    return throw_errno(env, "getsockopt", errno);
  }
  length = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) < 0) {
    return throw_errno(env, "getsockopt", errno);
  }
  length = sizeof listening;
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) < 0) {
    return throw_errno(env, "getsockopt", errno);
  }
  struct sockaddr_storage address;
  socklen_t address_length = sizeof address;
  if (getsockname(fd, (struct sockaddr *)&address, &address_length) < 0) {
    return throw_errno(env, "getsockname", errno);
  }
  if (address_length > sizeof address) address_length = sizeof address;

  napi_value result, listening_value, buffer, bytes;
  void *data;
  CHECK(napi_create_object(env, &result));
  if (!set_int_property(env, result, "domain", domain)) return NULL;
  if (!set_int_property(env, result, "type", type)) return NULL;
  CHECK(napi_get_boolean(env, listening != 0, &listening_value));
  CHECK(napi_set_named_property(env, result, "listening", listening_value));
  CHECK(napi_create_arraybuffer(env, address_length, &data, &buffer));
  if (address_length > 0) memcpy(data, &address, address_length);
  CHECK(napi_create_typedarray(env, napi_uint8_array, address_length, buffer, 0, &bytes));
  CHECK(napi_set_named_property(env, result, "localAddress", bytes));
  return result;
}

static napi_value js_monotonic_usec(napi_env env, napi_callback_info info) {
  (void)info;
  struct timespec now;
  if (clock_gettime(CLOCK_MONOTONIC, &now) < 0) return throw_errno(env, "clock_gettime", errno);
  uint64_t usec = (uint64_t)now.tv_sec * 1000000u + (uint64_t)now.tv_nsec / 1000u;
  napi_value result;
  CHECK(napi_create_bigint_uint64(env, usec, &result));
  return result;
}

static napi_value js_pipe(napi_env env, napi_callback_info info) {
  (void)info;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) return throw_errno(env, "pipe2", errno);
  napi_value result, read_end, write_end;
  if (!ok(env, napi_create_array_with_length(env, 2, &result)) ||
      !ok(env, napi_create_int32(env, fds[0], &read_end)) ||
      !ok(env, napi_create_int32(env, fds[1], &write_end)) ||
      !ok(env, napi_set_element(env, result, 0, read_end)) ||
      !ok(env, napi_set_element(env, result, 1, write_end))) {
    close(fds[0]);
    close(fds[1]);
    return NULL;
  }
  return result;
}

/* poll() of one fd for events, retried on EINTR: 0 with *revents set (0 when the time ran
 * out), or the errno (EBADF for a closed fd, which poll reports as POLLNVAL). */
static int poll_one(int fd, short events, int timeout, short *revents) {
  struct pollfd entry = {.fd = fd, .events = events, .revents = 0};
  int ready;
  do {
    ready = poll(&entry, 1, timeout);
  } while (ready < 0 && errno == EINTR);
  if (ready < 0) return errno;
  if ((entry.revents & POLLNVAL) != 0) return EBADF;
  *revents = ready > 0 ? entry.revents : 0;
  return 0;
}

static napi_value js_poll_hangup(napi_env env, napi_callback_info info) {
  int32_t fd;
  short revents;
  if (!get_fd_arg(env, info, &fd)) return NULL;
  int failed = poll_one(fd, POLLIN, 0, &revents);
  if (failed != 0) return throw_errno(env, "poll", failed);
  napi_value result;
  CHECK(napi_get_boolean(env, (revents & (POLLHUP | POLLERR)) != 0, &result));
  return result;
}

/* waitWritable(fd, timeoutMs) → true when fd is writable, false when the time ran out. */
static napi_value js_wait_writable(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd, timeout;
  short revents;
  if (!get_int32(env, argv[0], "fd", &fd)) return NULL;
  if (!get_int32(env, argv[1], "timeoutMs", &timeout)) return NULL;
  int failed = poll_one(fd, POLLOUT, timeout, &revents);
  if (failed != 0) return throw_errno(env, "poll", failed);
  napi_value result;
  CHECK(napi_get_boolean(env, (revents & POLLOUT) != 0, &result));
  return result;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  int32_t fd;
  if (!get_fd_arg(env, info, &fd)) return NULL;
  /* On Linux the fd is released even when close() reports EINTR: never retry. */
  if (close(fd) < 0 && errno != EINTR) return throw_errno(env, "close", errno);
  napi_value undefined;
  CHECK(napi_get_undefined(env, &undefined));
  return undefined;
}

static napi_value js_is_directory(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  size_t length;
  napi_status status = napi_get_value_string_utf8(env, argv[0], NULL, 0, &length);
  if (status == napi_string_expected) {
    throw_message(env, TYPE_ERROR, "Expected a string as \"path\"");
    return NULL;
  }
  CHECK(status);
  char path[PATH_MAX];
  struct stat st;
  bool directory = false;
  if (length < sizeof path) {
    CHECK(napi_get_value_string_utf8(env, argv[0], path, sizeof path, &length));
    directory = memchr(path, '\0', length) == NULL && lstat(path, &st) == 0 &&
                S_ISDIR(st.st_mode);
  }
  napi_value result;
  CHECK(napi_get_boolean(env, directory, &result));
  return result;
}

#define EXPORT(name, function) \
  {name, NULL, function, NULL, NULL, NULL, napi_enumerable, NULL}

#else /* not Linux: a stub whose every function throws ENOSYS */

static napi_value js_unsupported(napi_env env, napi_callback_info info) {
  void *name = NULL;
  CHECK(napi_get_cb_info(env, info, NULL, NULL, NULL, &name));
  /* 38 is ENOSYS on Linux, the numbering src/errors.ts uses everywhere. */
  return throw_system_error(env, "ENOSYS", 38, (const char *)name,
                            "systemd is Linux-only, so @systemd-js/daemon "
                            "has no native functions on this platform");
}

#define EXPORT(name, function) \
  {name, NULL, js_unsupported, NULL, NULL, NULL, napi_enumerable, (void *)name}

#endif

NAPI_MODULE_INIT() {
  napi_property_descriptor properties[] = {
      EXPORT("openDatagramSocket", js_open_datagram_socket),
      EXPORT("connect", js_connect),
      EXPORT("send", js_send),
      EXPORT("setCloexec", js_set_cloexec),
      EXPORT("describeSocket", js_describe_socket),
      EXPORT("monotonicUsec", js_monotonic_usec),
      EXPORT("pipe", js_pipe),
      EXPORT("pollHangup", js_poll_hangup),
      EXPORT("waitWritable", js_wait_writable),
      EXPORT("close", js_close),
      EXPORT("isDirectory", js_is_directory),
  };
  CHECK(napi_define_properties(env, exports, sizeof properties / sizeof properties[0],
                               properties));
  return exports;
}
