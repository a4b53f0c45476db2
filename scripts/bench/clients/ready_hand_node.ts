/**
 * Cold-start baseline for Node: the smallest hand-written READY=1. Node cannot
 * send a unix datagram without a native addon, so this loads the package's own
 * prebuilt addon with `process.dlopen` and calls its socket and send, no module
 * code. NOTIFY_SOCKET must be a path.
 * usage: ready_hand_node PACKAGE_DIR
 *
 * @module
 */

/** The part of `ffi/binding.c`'s exports this script uses. */
interface Addon {
  openDatagramSocket(): number;
  send(
    fd: number,
    address: Uint8Array,
    payload: Uint8Array,
    length: number,
    fds: null,
    credentials: null,
  ): number;
}

const addon_module: { exports: Partial<Addon> } = { exports: {} };
process.dlopen(
  addon_module,
  `${process.argv[2]}/prebuilds/linux-${process.arch}/node.napi.glibc.node`,
);
const addon = addon_module.exports as Addon;
const path = new TextEncoder().encode(process.env.NOTIFY_SOCKET ?? "");
const address = new Uint8Array(2 + path.length + 1);
address[0] = 1; // AF_UNIX
address.set(path, 2);
const message = new TextEncoder().encode("READY=1");
const errno = addon.send(addon.openDatagramSocket(), address, message, message.length, null, null);
if (errno !== 0) throw new Error(`send failed: errno ${errno}`);
