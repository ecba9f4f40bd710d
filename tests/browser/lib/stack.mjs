// The real system under test: redis-server, the livegate binary and the demo
// app (deploy/example), each on free loopback ports.

import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Proc, freePort, waitFor } from './procs.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../../..');

export function findLivegate() {
  const bin = process.env.LIVEGATE_BIN || path.join(repoRoot, 'build/livegate');
  if (!fs.existsSync(bin)) {
    throw new Error(`livegate binary not found at ${bin}: build it (meson setup build && ninja -C build) or set LIVEGATE_BIN`);
  }
  return bin;
}

export function which(name) {
  for (const dir of (process.env.PATH || '').split(':')) {
    const p = path.join(dir || '.', name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      // not in this directory
    }
  }
  return null;
}

export function redisCli(port, args, input) {
  return new Promise((resolve, reject) => {
    const child = execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args],
      { timeout: 10000 }, (err, stdout, stderr) => {
        if (err) reject(new Error(`redis-cli ${args.join(' ')}: ${err.message} ${stderr}`));
        else resolve(stdout.trim());
      });
    if (input !== undefined) child.stdin.end(input);
  });
}

async function httpStatus(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.status;
}

export class Stack {
  // originPorts: more page origins livegate must allow (given as ports on
  // 127.0.0.1, known before start); origins: the same as whole origins
  // (https://127.0.0.1:port behind a TLS proxy).
  constructor({ artifacts, demoCount = 1, demoEnv = [], originPorts = [], origins = [] }) {
    this.artifacts = artifacts;
    this.originPorts = originPorts;
    this.origins = origins;
    this.demoCount = demoCount;
    this.demoEnv = demoEnv;
    this.secret = crypto.randomBytes(32).toString('hex');
    this.apiKey = crypto.randomBytes(16).toString('hex');
  }

  async start() {
    this.redisPort = await freePort();
    this.publicPort = await freePort();
    this.privatePort = await freePort();
    this.demoPorts = [];
    for (let i = 0; i < this.demoCount; i++) this.demoPorts.push(await freePort());
    this.publicUrl = `http://127.0.0.1:${this.publicPort}`;
    this.privateUrl = `http://127.0.0.1:${this.privatePort}`;
    this.demoUrls = this.demoPorts.map((p) => `http://127.0.0.1:${p}`);

    this.redis = new Proc('redis', 'redis-server', [
      '--bind', '127.0.0.1', '--port', String(this.redisPort),
      '--save', '', '--appendonly', 'no', '--daemonize', 'no',
    ], { logDir: this.artifacts });
    await this.startRedis();

    this.livegate = new Proc('livegate', findLivegate(), [], {
      logDir: this.artifacts,
      env: {
        LIVEGATE_SECRET: this.secret,
        LIVEGATE_API_KEY: this.apiKey,
        LIVEGATE_REDIS_URL: `redis://127.0.0.1:${this.redisPort}`,
        LIVEGATE_PUBLIC_ADDR: `127.0.0.1:${this.publicPort}`,
        LIVEGATE_PRIVATE_ADDR: `127.0.0.1:${this.privatePort}`,
        LIVEGATE_ALLOWED_ORIGINS: [...this.demoUrls, ...this.originPorts.map((p) => `http://127.0.0.1:${p}`),
          ...this.origins].join(','),
        LIVEGATE_WORKERS: '1',
        LIVEGATE_DRAIN_MS: '200',
        LIVEGATE_LOG_LEVEL: 'info',
        // Tests open a page moments after the previous test published on
        // the same channel: with the default slack (1 s) the catch-up would
        // rightly tell that page it may have missed it, a refetch the tests
        // that count refetches do not expect. The catch-up's own tests are
        // tests/integration/test_catchup.py and the fault campaign.
        LIVEGATE_RENDER_SLACK_MS: '0',
      },
    });
    await this.startLivegate();

    this.demos = this.demoPorts.map((port, i) => new Proc(`demo${i}`, '/usr/bin/python3',
      [path.join(repoRoot, 'deploy/example/app.py')], {
        logDir: this.artifacts,
        env: {
          PORT: String(port),
          LIVEGATE_PRIVATE_URL: this.privateUrl,
          LIVEGATE_PUBLIC_URL: this.publicUrl,
          LIVEGATE_API_KEY: this.apiKey,
          REDIS_URL: `redis://127.0.0.1:${this.redisPort}`,
          PYTHONUNBUFFERED: '1',
          ...(this.demoEnv[i] || {}),
        },
      }));
    for (const [i, demo] of this.demos.entries()) {
      demo.start();
      await waitFor(`${demo.name} to serve`, async () => {
        if (!demo.running) throw new Error(`${demo.name} exited: ${demo.tail(5)}`);
        return (await httpStatus(`${this.demoUrls[i]}/healthz`)) === 200;
      });
    }
  }

  async startRedis() {
    this.redis.start();
    await waitFor('redis to answer PING', async () => {
      if (!this.redis.running) throw new Error(`redis exited: ${this.redis.tail(5)}`);
      return (await redisCli(this.redisPort, ['PING'])) === 'PONG';
    });
  }

  async startLivegate() {
    this.livegate.start();
    await waitFor('livegate /readyz', async () => {
      if (!this.livegate.running) throw new Error(`livegate exited: ${this.livegate.tail(10)}`);
      return (await httpStatus(`${this.privateUrl}/readyz`)) === 200;
    }, { timeout: 15000 });
  }

  publish(channel, message) {
    return redisCli(this.redisPort, ['PUBLISH', channel, message]);
  }

  // Sends many commands through one redis-cli, so they reach Redis in a burst.
  pipe(commands) {
    return redisCli(this.redisPort, [], commands.join('\n') + '\n');
  }

  async stats(i = 0) {
    const res = await fetch(`${this.demoUrls[i]}/__stats`, { signal: AbortSignal.timeout(2000) });
    return res.json();
  }

  async stop() {
    for (const p of [...(this.demos || []), this.livegate, this.redis]) {
      if (p) await p.stop();
    }
  }
}
