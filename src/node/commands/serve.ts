// `grok serve`: the browser lab, from the package's dist/web, with the cross-origin isolation
// headers (COOP/COEP) that let the page share memory between worker threads.

import { createReadStream, existsSync, statSync } from "node:fs";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { parseCount, UsageError } from "../args.js";
import { OutputError } from "../files.js";
import type { Command } from "./command.js";

const WEB = fileURLToPath(new URL("../../../web/", import.meta.url));
const TYPES: Record<string, string> = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json", ".css": "text/css" };

export const serve: Command = {
  name: "serve",
  summary: "the grokking lab in your browser: train live, see it grok",
  switches: ["no_isolation"],
  help: () => `Usage: grok serve [--port N] [--host ADDRESS] [--no-isolation]

Serves the browser lab (${WEB}) at http://localhost:8080/ with the headers that make the
page cross-origin isolated (Cross-Origin-Opener-Policy, Cross-Origin-Embedder-Policy), so
training shares each step among worker threads. --no-isolation leaves them out: the page
then trains on one thread, and says so. --port 0 picks a free port.
The same page is a static folder (npm run build:bundles -> dist/web) for any static host.
`,
  async run({ positional, flags }) {
    if (positional.length > 0) throw new UsageError("usage: grok serve [--port N] [--host ADDRESS] [--no-isolation]");
    const extra = Object.keys(flags).find((k) => !["port", "host", "no_isolation"].includes(k));
    if (extra) throw new UsageError(`grok serve takes --port, --host and --no-isolation, not --${extra.replace(/_/g, "-")}`);
    if (!existsSync(join(WEB, "index.html"))) throw new OutputError(`the lab is not built (${WEB}): run \`npm run build\``);
    const port = parseCount("port", flags.port, 0, 65535, 8080);
    const host = typeof flags.host === "string" ? flags.host : "127.0.0.1";
    const isolation = flags.no_isolation !== true;
    const server = createServer((req, res) => {
      const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)).replace(/^(\.\.[/\\])+/, "");
      const file = join(WEB, path.endsWith("/") ? `${path}index.html` : path);
      if (!file.startsWith(WEB) || !existsSync(file) || !statSync(file).isFile()) {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found");
        return;
      }
      res.writeHead(200, {
        "content-type": TYPES[extname(file)] ?? "application/octet-stream",
        "cache-control": "no-cache",
        ...(isolation ? { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp", "cross-origin-resource-policy": "same-origin" } : {}),
      });
      createReadStream(file).pipe(res);
    });
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(port, host, resolve));
    const address = server.address();
    const actual = typeof address === "object" && address ? address.port : port;
    process.stdout.write(`grok lab at http://${host === "0.0.0.0" ? "localhost" : host}:${actual}/${isolation ? "" : " (not cross-origin isolated: one thread)"}\n`);
    await new Promise<void>((resolve) => {
      const stop = (): void => { server.close(() => resolve()); server.closeAllConnections(); };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    return 0;
  },
};
