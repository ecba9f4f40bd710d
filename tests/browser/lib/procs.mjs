// Child processes for the browser tests: start with logs to a file, stop by
// process group id (each child leads its own group, so helpers a server forks
// go with it), free loopback ports, polling.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Every child still running, so that a test run that is killed (a timeout,
// Ctrl-C) does not leave servers behind: their groups get SIGKILL on exit.
const live = new Set();
process.once('exit', () => {
  for (const p of live) signalGroup(p.child.pid, 'SIGKILL');
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.once(sig, () => process.exit(128 + (sig === 'SIGTERM' ? 15 : 2)));
}

// A port the kernel just handed out on 127.0.0.1. Another process could take
// it before we use it; on loopback during a test run that is rare enough.
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// Polls fn until it returns a truthy value; throws with `what` on timeout.
export async function waitFor(what, fn, { timeout = 10000, interval = 50 } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}` + (last ? ` (last error: ${last.message})` : ''));
    }
    await sleep(interval);
  }
}

export class Proc {
  constructor(name, cmd, args, { env = {}, logDir, cwd } = {}) {
    this.name = name;
    this.cwd = cwd;
    this.cmd = cmd;
    this.args = args;
    this.env = env;
    this.logPath = `${logDir}/${name}.log`;
    this.child = null;
    this.exited = null;
  }

  start() {
    if (this.child) throw new Error(`${this.name} already running`);
    const log = fs.openSync(this.logPath, 'a');
    fs.writeSync(log, `---- ${new Date().toISOString()} start: ${this.cmd} ${this.args.join(' ')}\n`);
    const child = spawn(this.cmd, this.args, {
      env: { ...process.env, ...this.env },
      cwd: this.cwd,
      stdio: ['ignore', log, log],
      detached: true, // own process group: stop() reaches forked workers too
    });
    fs.closeSync(log);
    this.child = child;
    live.add(this);
    this.exitCode = undefined;
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitCode = code ?? signal;
        resolve(this.exitCode);
      });
      child.on('error', (err) => {
        this.exitCode = err.message;
        resolve(err.message);
      });
    });
    return this;
  }

  get running() {
    return this.child !== null && this.exitCode === undefined;
  }

  // SIGTERM (or `signal`), then SIGKILL after `grace` ms; resolves on exit.
  async stop({ signal = 'SIGTERM', grace = 5000 } = {}) {
    const child = this.child;
    if (!child) return;
    if (this.running) {
      signalGroup(child.pid, signal);
      const timer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), grace);
      await this.exited;
      clearTimeout(timer);
    }
    // Whatever the leader left behind in its group (a forked worker).
    signalGroup(child.pid, 'SIGKILL');
    live.delete(this);
    this.child = null;
  }

  kill() {
    return this.stop({ signal: 'SIGKILL', grace: 0 });
  }

  // SIGSTOP/SIGCONT and the like, to the whole group.
  signal(sig) {
    if (this.running) signalGroup(this.child.pid, sig);
  }

  tail(lines = 30) {
    try {
      return fs.readFileSync(this.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

function signalGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch (e) {
    if (e.code !== 'ESRCH') throw e;
  }
}
