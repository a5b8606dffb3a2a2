// A real redis-server (Debian's package) for the queue tests: started on a free loopback
// port with its data in a folder of its own (append-only file on, so a restart keeps the
// queue), optionally with a password and a TLS port whose certificate a throwaway CA signs.

import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const REDIS = process.env.REDIS_SERVER ?? "/usr/bin/redis-server";

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

export interface RedisOptions {
  password?: string;
  tls?: boolean;
}

export class RedisServer {
  private process?: ChildProcess;
  readonly dir = mkdtempSync(join(tmpdir(), "grok-redis-"));
  port = 0;
  /** The CA that signed the TLS certificate (give it to clients as NODE_EXTRA_CA_CERTS). */
  ca?: string;

  private constructor(private readonly options: RedisOptions) {}

  static async start(options: RedisOptions = {}): Promise<RedisServer> {
    assert.ok(existsSync(REDIS), `no redis-server at ${REDIS}: install Debian's redis-server (apt-get install redis-server) or set REDIS_SERVER`);
    const server = new RedisServer(options);
    if (options.tls) server.makeCertificates();
    server.port = await freePort();
    await server.launch();
    return server;
  }

  /** The URL a client gives to --queue. */
  get url(): string {
    const auth = this.options.password ? `:${this.options.password}@` : "";
    return `${this.options.tls ? "rediss" : "redis"}://${auth}${this.options.tls ? "localhost" : "127.0.0.1"}:${this.port}`;
  }

  private async launch(): Promise<void> {
    const args = ["--bind", "127.0.0.1", "--dir", this.dir, "--appendonly", "yes", "--save", "", "--daemonize", "no", "--loglevel", "warning"];
    if (this.options.password) args.push("--requirepass", this.options.password);
    if (this.options.tls) {
      args.push("--port", "0", "--tls-port", String(this.port), "--tls-cert-file", join(this.dir, "server.crt"), "--tls-key-file", join(this.dir, "server.key"), "--tls-ca-cert-file", this.ca!, "--tls-auth-clients", "no");
    } else args.push("--port", String(this.port));
    this.process = spawn(REDIS, args, { stdio: "ignore" });
    for (let i = 0; i < 100; i++) {
      if (await listening(this.port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not start on port ${this.port}`);
  }

  /** Stops the server (it writes its append-only file) and starts it again on the same port and data. */
  async restart(downMs: number): Promise<void> {
    await this.stop();
    await new Promise((r) => setTimeout(r, downMs));
    await this.launch();
  }

  async stop(): Promise<void> {
    const p = this.process;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((r) => { p.once("exit", () => r()); p.kill("SIGTERM"); });
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private makeCertificates(): void {
    const d = this.dir, ssl = (...a: string[]): void => void execFileSync("openssl", a, { stdio: "ignore" });
    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", join(d, "ca.key"), "-out", join(d, "ca.crt"), "-days", "1", "-subj", "/CN=grokwasm test CA");
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", join(d, "server.key"), "-out", join(d, "server.csr"), "-subj", "/CN=localhost");
    writeFileSync(join(d, "san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    ssl("x509", "-req", "-in", join(d, "server.csr"), "-CA", join(d, "ca.crt"), "-CAkey", join(d, "ca.key"), "-CAcreateserial", "-out", join(d, "server.crt"), "-days", "1", "-extfile", join(d, "san.ext"));
    this.ca = join(d, "ca.crt");
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => { s.destroy(); resolve(true); });
    s.once("error", () => resolve(false));
  });
}
