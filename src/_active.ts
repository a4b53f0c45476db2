/**
 * The libc backend and the notification sender of this process, created on
 * first use, so that nothing touches FFI until a message really goes out.
 *
 * @module
 */

import type { Backend } from "./_backend.ts";
import { loadBackend } from "./_platform.ts";
import { NotifySender } from "./_sender.ts";

let backend: Backend | undefined;
let sender: NotifySender | undefined;

/** The sender if it already exists, without waiting. */
export function loadedSender(): NotifySender | undefined {
  return sender;
}

/** The backend, loading it on first use. */
export async function activeBackend(): Promise<Backend> {
  backend ??= await loadBackend();
  return backend;
}

/** The one sender of this process, so every message shares one socket and one queue. */
export async function activeSender(): Promise<NotifySender> {
  sender ??= new NotifySender(backend ?? await activeBackend());
  return sender;
}
