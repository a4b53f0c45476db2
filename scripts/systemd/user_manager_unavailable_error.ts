/**
 * Thrown by `startUserManager()` when this machine cannot give the caller a systemd user
 * manager at all (no systemd binaries, not root and no running user manager, namespaces not
 * permitted…). A test that catches it reports itself **skipped** with {@link reason}; it must
 * never count as passed. Any other error from `startUserManager()` is a real failure.
 *
 * @example Skip a test when there is no systemd
 * ```ts
 * import { test } from "node:test";
 * try {
 *   manager = await startUserManager();
 * } catch (error) {
 *   if (error instanceof UserManagerUnavailableError) t.skip(error.reason);
 *   else throw error;
 * }
 * ```
 */
export class UserManagerUnavailableError extends Error {
  /** Why no user manager is available, e.g. `not root and no user manager answers`. */
  readonly reason: string;

  /**
   * Creates the error; the message is `No systemd user manager available: REASON`.
   *
   * @param reason why no user manager is available
   * @param options the underlying error, if any
   */
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`No systemd user manager available: ${reason}`, options);
    this.name = "UserManagerUnavailableError";
    this.reason = reason;
  }
}
