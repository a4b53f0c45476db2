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
let creating: Promise<NotifySender> | undefined;

/** The sender if it already exists, without waiting. */
export function loadedSender(): NotifySender | undefined {
  return sender;
}

/** The backend, loading it on first use (loadBackend() shares one load between callers). */
export async function activeBackend(): Promise<Backend> {
  backend ??= await loadBackend();
  return backend;
}

/**
 * The one sender of this process, so every message shares one socket and one
 * queue. Callers that arrive while it is being created share that creation, so
 * concurrent first calls cannot each make their own sender (and lose order).
 */
export function activeSender(): Promise<NotifySender> {
  if (sender !== undefined) return Promise.resolve(sender);
  creating ??= activeBackend().then(
    (loaded) => (sender = new NotifySender(loaded)),
    (error: unknown) => {
      creating = undefined; // a permission granted later may succeed
      throw error;
    },
  );
  return creating;
}
