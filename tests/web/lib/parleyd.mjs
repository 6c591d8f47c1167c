// Runs the real parleyd for the web tests: a throwaway config and data dir, c2s and HTTP
// listeners on free loopback ports, the repository's web/ as web_root, sign-up allowed, a
// self-signed certificate from `parleyctl cert`. stop() ends it (SIGTERM, then SIGKILL).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const kDomain = 'localhost';
export const kRepoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

const kStartTimeoutMs = 10_000;
const kStopTimeoutMs = 10_000;
const kStartAttempts = 3;  // a free port may be taken between picking it and parleyd binding it

function requiredEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (the path CTest passes)`);
  return value;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function distinctFreePorts(count) {
  const ports = new Set();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(500);
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class Parleyd {
  constructor() {
    this.binary = requiredEnv('PARLEYD');
    this.ctl = requiredEnv('PARLEYCTL');
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-web-'));
    this.configPath = path.join(this.dir, 'parley.toml');
    this.logPath = path.join(this.dir, 'parleyd.log');
    this.child = null;
  }

  get httpUrl() { return `http://127.0.0.1:${this.httpPort}/`; }
  get websocketUrl() { return `ws://127.0.0.1:${this.httpPort}/xmpp-websocket`; }

  writeConfig() {
    const webRoot = path.join(kRepoDir, 'web');
    fs.writeFileSync(this.configPath, `# written by tests/web/lib/parleyd.mjs
data_dir = "data"
threads = 2
log_level = "info"

[c2s]
listen = ["127.0.0.1:${this.c2sPort}"]
direct_tls = []
failed_logins_per_ip = 0

[s2s]
listen = []
direct_tls = []

[http]
listen = ["127.0.0.1:${this.httpPort}"]
tls_listen = []
public_url = "${this.httpUrl}"
web_root = ${JSON.stringify(webRoot)}

[hosts."${kDomain}"]
registration = true
`);
  }

  ctlRun(args, input = '') {
    const result = spawnSync(this.ctl, ['--config', this.configPath, ...args], {
      input, encoding: 'utf8', timeout: 30_000,
    });
    if (result.status !== 0) {
      throw new Error(`parleyctl ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
    }
    return result.stdout;
  }

  adduser(jid, password) { this.ctlRun(['adduser', jid], `${password}\n`); }

  async start() {
    for (let attempt = 1; attempt <= kStartAttempts; ++attempt) {
      [this.c2sPort, this.httpPort] = await distinctFreePorts(2);
      this.writeConfig();
      if (attempt === 1) this.ctlRun(['cert', kDomain]);
      if (await this.launch()) return this;
    }
    throw new Error(`parleyd did not start; log tail:\n${this.logTail()}`);
  }

  // Starts parleyd; true once both ports accept, false if it exited first.
  async launch() {
    const log = fs.openSync(this.logPath, 'a');
    this.child = spawn(this.binary, ['--config', this.configPath], {
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    let exited = false;
    this.child.once('exit', () => { exited = true; });
    const deadline = Date.now() + kStartTimeoutMs;
    while (Date.now() < deadline && !exited) {
      if ((await canConnect(this.c2sPort)) && (await canConnect(this.httpPort))) return true;
      await sleep(50);
    }
    if (!exited) {
      await this.stop();
      throw new Error(`parleyd not accepting connections after ${kStartTimeoutMs} ms`);
    }
    this.child = null;
    return false;
  }

  logTail(lines = 40) {
    try {
      return fs.readFileSync(this.logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  // SIGTERM, SIGKILL after kStopTimeoutMs; resolves with the exit code (null if killed).
  async stop() {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      return child ? child.exitCode : null;
    }
    const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), kStopTimeoutMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  }

  // Removes the temporary directory (keep it with PARLEY_KEEP_TMP=1 to read the log).
  cleanup() {
    if (process.env.PARLEY_KEEP_TMP) {
      console.log(`parleyd files kept in ${this.dir}`);
      return;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

// Kills a still-running parleyd if the test process dies on an uncaught error or a signal.
export function killOnExit(server) {
  const kill = () => { if (server.child) server.child.kill('SIGKILL'); };
  process.once('exit', kill);
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => { kill(); process.exit(1); });
  }
}
