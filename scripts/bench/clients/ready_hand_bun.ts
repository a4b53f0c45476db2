/**
 * Cold-start baseline for Bun: the smallest hand-written READY=1, libc's
 * socket and sendto through `bun:ffi`, no checks. NOTIFY_SOCKET must be a path.
 *
 * @module
 */
import { dlopen, FFIType } from "bun:ffi";

const libc = dlopen("libc.so.6", {
  socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
  sendto: {
    args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32],
    returns: FFIType.i64,
  },
}).symbols;
const path = new TextEncoder().encode(process.env.NOTIFY_SOCKET ?? "");
const address = new Uint8Array(2 + path.length + 1);
address[0] = 1; // AF_UNIX
address.set(path, 2);
const message = new TextEncoder().encode("READY=1");
const fd = libc.socket(1, 2 | 0o2000000, 0); // AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC
libc.sendto(fd, message, message.length, 0x4000, address, address.length);
