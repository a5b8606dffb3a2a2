// The Redis behind a queue: `--queue redis://[:password@]host:port[/db]` (or rediss:// for
// TLS), checked before anything connects, connected with a clear error when the server is
// not there or refuses the password, and reconnected for as long as it takes when it goes
// away later (a Redis restart): BullMQ's commands wait for it.

import { Redis } from "ioredis";
import { UsageError } from "../args.js";

export class QueueError extends Error {}

export interface QueueUrl {
  url: string;
  /** The address without the password, for messages. */
  shown: string;
  tls: boolean;
}

export function parseQueueUrl(raw: string | boolean | undefined): QueueUrl {
  const usage = "--queue takes redis://[:password@]host:port[/db] or rediss://... (TLS)";
  if (typeof raw !== "string" || raw === "") throw new UsageError(`${usage}`);
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError(`${usage}, got '${raw}'`);
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") throw new UsageError(`${usage}, got a ${u.protocol.replace(":", "")}:// URL`);
  if (u.hostname === "") throw new UsageError(`${usage}: the URL names no host`);
  if (u.pathname !== "" && u.pathname !== "/" && !/^\/\d{1,2}$/.test(u.pathname)) throw new UsageError(`${usage}: the database is a number (/0 to /15), got '${u.pathname.slice(1)}'`);
  const shown = `${u.protocol}//${u.username ? `${u.username}:***@` : u.password ? ":***@" : ""}${u.host}${u.pathname === "/" ? "" : u.pathname}`;
  return { url: raw, shown, tls: u.protocol === "rediss:" };
}

/**
 * A connection for BullMQ: commands wait while the server is away (maxRetriesPerRequest
 * null, as BullMQ's workers require), and it reconnects every second or two for good.
 * Resolves once the server has answered, or fails with what went wrong.
 */
export async function connect(q: QueueUrl, timeoutMs = 10000): Promise<Redis> {
  const redis = new Redis(q.url, {
    maxRetriesPerRequest: null,
    lazyConnect: true,
    retryStrategy: (times) => Math.min(200 * times, 2000),
  });
  let lastError: Error | undefined;
  redis.on("error", (e: Error) => {
    lastError = e;
  });
  try {
    await withTimeout(redis.connect().then(() => redis.ping()), timeoutMs, () => lastError);
  } catch (e) {
    redis.disconnect();
    // "Connection is closed." says less than the error that closed it.
    throw new QueueError(describe(q, lastError ?? (e as Error)));
  }
  return redis;
}

function describe(q: QueueUrl, e: Error): string {
  const m = e.message;
  if (/WRONGPASS|invalid password|invalid username-password/i.test(m)) return `Redis at ${q.shown} refused the password: check the password in --queue`;
  if (/NOAUTH/i.test(m)) return `Redis at ${q.shown} requires a password: give it in the URL, redis://:PASSWORD@host:port`;
  if (/ECONNREFUSED/.test(m)) return `cannot reach Redis at ${q.shown} (connection refused): start redis-server there, or check the host and port in --queue`;
  if (/certificate|self.signed|SSL|TLS|EPROTO/i.test(m)) return `TLS to Redis at ${q.shown} failed (${m}): check the server's certificate (NODE_EXTRA_CA_CERTS=ca.pem trusts a private CA)`;
  return `cannot reach Redis at ${q.shown} (${m})${q.tls && /no answer/.test(m) ? ": does the server speak TLS on that port (tls-port)?" : ""}`;
}

function withTimeout<T>(p: Promise<T>, ms: number, last: () => Error | undefined): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(last() ?? new Error(`no answer in ${ms / 1000} s`)), ms);
    p.then((v) => { clearTimeout(timer); resolve(v); }, (e: unknown) => { clearTimeout(timer); reject(e); });
  });
}
