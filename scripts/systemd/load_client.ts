/**
 * A bounded HTTP load client for loopback tests (zero-downtime restarts and the demo). It runs
 * unchanged under Node, Deno and Bun (`node:http` only), stops by itself after `maxRequests`
 * requests or `maxDurationMs`, whichever comes first (or when `signal` aborts), and counts every
 * request as ok or failed. Nothing is retried, so nothing is hidden: each request uses its own
 * connection (`Connection: close`, no agent) and any connection error, timeout, unexpected status
 * or body counts as a failure.
 *
 * Run: `node --import tsx scripts/systemd/load_client.ts --port 8080 [--host 127.0.0.1]
 * [--path /] [--concurrency 8] [--requests 1000] [--seconds 10]`; prints the result as JSON and
 * exits 1 when a request failed.
 *
 * @module
 */
import { request as httpRequest } from "node:http";
import process from "node:process";

/** Options for {@link runLoad}. */
export interface LoadOptions {
  /** The server's address (default `127.0.0.1`). */
  readonly host?: string;
  /** The server's TCP port. */
  readonly port: number;
  /** Request paths, used in turn (default `["/"]`). */
  readonly paths?: readonly string[];
  /** How many requests run at the same time (default 8). */
  readonly concurrency?: number;
  /** Stop after this many requests in all (default 1 000 000). */
  readonly maxRequests?: number;
  /** Stop starting requests after this long, in ms (default 30 000). */
  readonly maxDurationMs?: number;
  /** How long one request may take before it counts as failed, in ms (default 10 000). */
  readonly requestTimeoutMs?: number;
  /** Decides whether an answer is right (default: status 200). */
  readonly accept?: (status: number, body: string) => boolean;
  /** Stops starting new requests when aborted; the ones running still finish and are counted. */
  readonly signal?: AbortSignal;
}

/** What {@link runLoad} counted. */
export interface LoadResult {
  /** Requests started. */
  readonly sent: number;
  /** Requests answered as `accept` wanted. */
  readonly ok: number;
  /** Requests that failed in any way (the sum of `errors`). */
  readonly failed: number;
  /** Failures by kind: an error code such as `ECONNRESET`, `timeout`, `status 503`, `body`. */
  readonly errors: Readonly<Record<string, number>>;
  /** How many answers each distinct body had, for bodies that name the answering process. */
  readonly bodies: Readonly<Record<string, number>>;
  /** Wall time from the first request to the last answer, in ms. */
  readonly durationMs: number;
  /** Slowest answered request, in ms. */
  readonly maxLatencyMs: number;
}

interface Outcome {
  readonly ok: boolean;
  readonly kind: string;
  readonly body: string;
  readonly latencyMs: number;
}

function once(
  options: Required<Pick<LoadOptions, "host" | "port" | "requestTimeoutMs">>,
  path: string,
): Promise<Outcome> {
  const started = performance.now();
  return new Promise<Outcome>((resolve) => {
    let settled = false;
    const finish = (ok: boolean, kind: string, body = ""): void => {
      if (settled) return;
      settled = true;
      resolve({ ok, kind, body, latencyMs: performance.now() - started });
    };
    const request = httpRequest(
      {
        host: options.host,
        port: options.port,
        path,
        method: "GET",
        agent: false,
        headers: { Connection: "close" },
      },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (body += chunk));
        response.on("end", () => finish(true, `status ${response.statusCode}`, body));
        response.on(
          "error",
          (error: Error & { code?: string }) => finish(false, error.code ?? error.message),
        );
        response.on("aborted", () => finish(false, "aborted"));
      },
    );
    request.setTimeout(options.requestTimeoutMs, () => {
      finish(false, "timeout");
      request.destroy();
    });
    request.on(
      "error",
      (error: Error & { code?: string }) => finish(false, error.code ?? error.message),
    );
    request.end();
  });
}

/**
 * Sends GET requests to `host:port` from `concurrency` workers until a bound is reached.
 *
 * @param options address, paths, bounds and the check of each answer
 * @returns the counts
 * @throws {RangeError} for a bad port, concurrency or bound
 *
 * @example 2000 requests or 10 s, 8 at a time
 * ```ts
 * const result = await runLoad({ port: 8080, maxRequests: 2000, maxDurationMs: 10_000 });
 * console.log(`${result.ok} ok, ${result.failed} failed`);
 * ```
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const host = options.host ?? "127.0.0.1";
  const { port } = options;
  const paths = options.paths ?? ["/"];
  const concurrency = options.concurrency ?? 8;
  const maxRequests = options.maxRequests ?? 1_000_000;
  const maxDurationMs = options.maxDurationMs ?? 30_000;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const accept = options.accept ?? ((status: number): boolean => status === 200);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new RangeError(`Bad port "${port}"`);
  }
  if (!Number.isInteger(concurrency) || concurrency <= 0) {
    throw new RangeError(`Bad concurrency "${concurrency}"`);
  }
  if (!(maxRequests > 0) || !(maxDurationMs > 0) || paths.length === 0) {
    throw new RangeError("The load needs positive bounds and at least one path");
  }

  const started = performance.now();
  const deadline = started + maxDurationMs;
  let sent = 0;
  let ok = 0;
  let maxLatencyMs = 0;
  const errors: Record<string, number> = {};
  const bodies: Record<string, number> = {};

  async function worker(): Promise<void> {
    while (sent < maxRequests && performance.now() < deadline && options.signal?.aborted !== true) {
      const path = paths[sent % paths.length];
      sent++;
      const outcome = await once({ host, port, requestTimeoutMs }, path);
      const status = Number(/^status (\d+)$/.exec(outcome.kind)?.[1] ?? 0);
      if (outcome.ok && accept(status, outcome.body)) {
        ok++;
        maxLatencyMs = Math.max(maxLatencyMs, outcome.latencyMs);
        bodies[outcome.body.trim()] = (bodies[outcome.body.trim()] ?? 0) + 1;
      } else {
        const kind = outcome.ok ? (status === 200 ? "body" : outcome.kind) : outcome.kind;
        errors[kind] = (errors[kind] ?? 0) + 1;
      }
    }
  }

  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  const failed = Object.values(errors).reduce((sum, count) => sum + count, 0);
  return {
    sent,
    ok,
    failed,
    errors,
    bodies,
    durationMs: performance.now() - started,
    maxLatencyMs,
  };
}

function flag(args: readonly string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index < 0 ? undefined : args[index + 1];
}

function isMain(): boolean {
  const url = (import.meta as { main?: boolean; url: string }).main;
  if (url !== undefined) return url;
  const script = process.argv[1];
  return script !== undefined && import.meta.url.endsWith(script.replace(/^.*\//, "/"));
}

if (isMain()) {
  const args = process.argv.slice(2);
  const port = Number(flag(args, "--port"));
  const result = await runLoad({
    host: flag(args, "--host"),
    port,
    paths: [flag(args, "--path") ?? "/"],
    concurrency: Number(flag(args, "--concurrency") ?? 8),
    maxRequests: Number(flag(args, "--requests") ?? 1000),
    maxDurationMs: Number(flag(args, "--seconds") ?? 10) * 1000,
  });
  console.log(JSON.stringify({ ...result, bodies: Object.keys(result.bodies).length }, null, 2));
  process.exitCode = result.failed === 0 ? 0 : 1;
}
