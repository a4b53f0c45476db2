/**
 * One systemd user manager per `describe()` block of the real-systemd tests, and the reason to
 * skip them where none can be had. Every such test file does it the same way:
 *
 * ```ts
 * describe("…", { skip: SKIP }, () => {
 *   const systemd = useUserManager();
 *   test("…", () => systemd.withLogsOnFailure(async (manager) => { … }));
 * });
 * ```
 *
 * @module
 */
import { after, before } from "node:test";
import {
  probeUserManager,
  startUserManager,
  type UserManager,
} from "../scripts/systemd/user_manager.ts";
import { withLogsOnFailure } from "./_systemd.ts";

/**
 * Why the real-systemd tests cannot run here, for `describe(…, { skip: SKIP })`; `false` when a
 * user manager can be had. A skipped test is reported as skipped, never as passed.
 */
export const SKIP: string | false = await probeUserManager().then(
  (probe) => probe.available ? false : `No systemd user manager: ${probe.reason}`,
);

/** The user manager of one `describe()` block, from {@link useUserManager}. */
export interface UserManagerFixture {
  /**
   * The manager, once `before()` has started it.
   *
   * @throws {Error} when read before that (outside a hook or test of the block)
   */
  readonly manager: UserManager;
  /**
   * Runs a test body with the manager and, when it throws, prints the services' output before
   * rethrowing.
   *
   * @param body the test body
   * @returns when the body is done
   */
  withLogsOnFailure(body: (manager: UserManager) => Promise<void>): Promise<void>;
}

/**
 * Registers, in the calling `describe()` block, a `before()` that starts a user manager
 * (scripts/systemd/user_manager.ts) and then runs `setup`, and an `after()` that stops it with
 * everything it ran. When `setup` throws, the services' output is printed first.
 *
 * @param setup work for `before()` once the manager runs (services the tests share)
 * @returns the manager's handle for the block's tests
 */
export function useUserManager(
  setup?: (manager: UserManager) => Promise<void>,
): UserManagerFixture {
  let started: UserManager | undefined;
  const fixture: UserManagerFixture = {
    get manager(): UserManager {
      if (started === undefined) throw new Error("the user manager is not started yet");
      return started;
    },
    withLogsOnFailure(body: (manager: UserManager) => Promise<void>): Promise<void> {
      const manager = fixture.manager;
      return withLogsOnFailure(manager, () => body(manager));
    },
  };

  before(async () => {
    started = await startUserManager();
    if (setup !== undefined) await fixture.withLogsOnFailure(setup);
  });

  after(async () => {
    await started?.stop();
  });

  return fixture;
}
