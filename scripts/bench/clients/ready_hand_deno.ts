/**
 * Cold-start baseline for Deno: the smallest hand-written READY=1, libc's
 * socket and sendto through `Deno.dlopen`, no checks. NOTIFY_SOCKET must be a path.
 *
 * @module
 */

/** The part of the `Deno` namespace this script uses (so it compiles anywhere). */
interface DenoFfi {
  dlopen(name: string, symbols: Record<string, { parameters: string[]; result: string }>): {
    symbols: {
      socket(domain: number, type: number, protocol: number): number;
      sendto(
        fd: number,
        message: Uint8Array,
        length: bigint,
        flags: number,
        address: Uint8Array,
        address_length: number,
      ): bigint;
    };
  };
  env: { get(key: string): string | undefined };
}

const deno = (globalThis as unknown as { Deno: DenoFfi }).Deno;
const libc = deno.dlopen("libc.so.6", {
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
}).symbols;
const path = new TextEncoder().encode(deno.env.get("NOTIFY_SOCKET") ?? "");
const address = new Uint8Array(2 + path.length + 1);
address[0] = 1; // AF_UNIX
address.set(path, 2);
const message = new TextEncoder().encode("READY=1");
const fd = libc.socket(1, 2 | 0o2000000, 0); // AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC
libc.sendto(fd, message, BigInt(message.length), 0x4000, address, address.length);
