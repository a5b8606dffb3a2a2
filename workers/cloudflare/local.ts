// The Worker on this machine: the bundle `wrangler deploy` would deploy (dist/cloudflare),
// run by workerd, Cloudflare's open-source Workers runtime, through miniflare (both npm
// devDependencies that carry the binary). `npm run edge:dev` serves it on a port for
// `grok edge-train`; the tests and `npm run check:runtimes` start it on a free port.
// Durable Objects persist to a folder when one is given, so a run survives a restart.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Miniflare } from "miniflare";

const BUNDLE = fileURLToPath(new URL("../../cloudflare/worker.js", import.meta.url));

export interface LocalWorker {
  url: string;
  /** The workerd process serving it (its memory can be read from /proc). */
  pid: number | undefined;
  dispose(): Promise<void>;
}

export async function startLocalWorker(options: { port?: number; host?: string; persist?: string } = {}): Promise<LocalWorker> {
  if (!existsSync(BUNDLE)) throw new Error(`the Worker is not built (${BUNDLE}): run \`npm run build\``);
  const before = new Set(workerdPids());
  const mf = new Miniflare({
    modules: true,
    scriptPath: BUNDLE,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    durableObjects: { RUNS: "RunObject" },
    compatibilityDate: "2026-07-30",
    host: options.host ?? "127.0.0.1",
    port: options.port ?? 0,
    ...(options.persist ? { durableObjectsPersist: options.persist } : {}),
  });
  const url = (await mf.ready).href.replace(/\/$/, "");
  const pid = workerdPids().find((p) => !before.has(p));
  return { url, pid, dispose: () => mf.dispose() };
}

/** The workerd processes this process started (Linux; none found elsewhere). */
function workerdPids(): number[] {
  if (!existsSync("/proc")) return [];
  return readdirSync("/proc").filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      return ppid === process.pid && stat.includes("(workerd)");
    } catch {
      return false;
    }
  });
}

/** A process's resident memory now and at its peak (bytes; Linux). */
export function processMemory(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string): number => 1024 * Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
    return { rss: kb("VmRSS"), peak: kb("VmHWM") };
  } catch {
    return undefined;
  }
}

// `npm run edge:dev [-- --port N] [--persist DIR]`
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const worker = await startLocalWorker({ port: Number(arg("port") ?? 8787), persist: arg("persist") ?? ".wrangler/state/do" });
  process.stdout.write(`grokwasm Worker (workerd) at ${worker.url}/ - train with: grok edge-train ${worker.url} --p 23 --steps 300\n`);
  const stop = (): void => void worker.dispose().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
