// Debian's nginx in front of the demo and livegate, as a site would run it:
// the page at /, livegate under /livegate/ through deploy/nginx-livegate.conf
// as shipped (included, not copied), TLS with HTTP/2 where asked (a
// throw-away self-signed certificate made with openssl). WebSocket upgrades
// on /livegate/ws can be refused (403, as a proxy that lets no WebSocket
// through) and allowed again by a configuration reload (SIGHUP).
//
// sites: [{ port, app, tls }]: a server on 127.0.0.1:port proxying / to the
// app's port; tls: HTTPS with HTTP/2. The access log records the server
// port, the request line (its protocol: HTTP/2.0 or HTTP/1.1) and the status.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Proc, waitFor } from './procs.mjs';
import { repoRoot } from './stack.mjs';

const SNIPPET = path.join(repoRoot, 'deploy/nginx-livegate.conf');

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 60000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}

function listening(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

export class Nginx {
  constructor({ artifacts, livegatePort, sites }) {
    this.dir = path.join(artifacts, 'nginx'); // the last run's configuration and logs
    fs.rmSync(this.dir, { recursive: true, force: true });
    fs.mkdirSync(this.dir);
    fs.chmodSync(this.dir, 0o755); // workers may run as nobody
    this.livegatePort = livegatePort;
    this.sites = sites;
    this.webSockets = false;
    this.generation = 0;
    this.bin = fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
    this.accessLog = path.join(this.dir, 'access.log');
  }

  async start() {
    if (this.sites.some((s) => s.tls)) {
      this.cert = path.join(this.dir, 'cert.pem');
      this.key = path.join(this.dir, 'key.pem');
      await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1',
        '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
        '-keyout', this.key, '-out', this.cert]);
    }
    this.conf = this.write();
    await run(this.bin, ['-t', '-p', this.dir, '-e', path.join(this.dir, 'error.log'), '-c', this.conf]);
    this.proc = new Proc('nginx', this.bin, ['-p', this.dir, '-e', path.join(this.dir, 'error.log'), '-c', this.conf],
      { logDir: this.dir });
    this.proc.start();
    await this.applied();
  }

  // The configuration in force answers /__lgconf with its generation.
  async applied() {
    const want = String(this.generation);
    for (const s of this.sites) {
      await waitFor(`nginx on ${s.port} to serve configuration ${want}`, async () => {
        if (!this.proc.running) throw new Error(`nginx exited: ${this.proc.tail(10)}`);
        if (!(await listening(s.port))) return false;
        if (s.tls) return true; // one worker serves every port: a plain one tells
        const res = await fetch(`http://127.0.0.1:${s.port}/__lgconf`, { signal: AbortSignal.timeout(2000) });
        return (await res.text()).trim() === want;
      }, { timeout: 60000 });
    }
  }

  write() {
    this.generation++;
    const map = fs.readFileSync(path.join(repoRoot, 'deploy/nginx.conf'), 'utf8')
      .match(/^map \$http_upgrade \$connection_upgrade \{[^}]*\}/m);
    if (!map) throw new Error('deploy/nginx.conf has no `map $http_upgrade $connection_upgrade` block');
    const servers = this.sites.map((s) => `
    server {
        listen 127.0.0.1:${s.port}${s.tls ? ' ssl http2' : ''};
        ${s.tls ? `ssl_certificate ${this.cert};\n        ssl_certificate_key ${this.key};` : ''}
        location = /__lgconf { return 200 "${this.generation}\\n"; }
        ${this.webSockets ? '' : 'location = /livegate/ws { return 403; }'}
        location / {
            proxy_pass http://127.0.0.1:${s.app};
            proxy_http_version 1.1;
            proxy_set_header Host $host;
        }
        include ${SNIPPET};
    }`).join('\n');
    const d = this.dir;
    const text = `
daemon off;
worker_processes 1;
# A reload must not wait for the old worker's open streams to end.
worker_shutdown_timeout 10s;
pid ${d}/nginx.pid;
error_log ${d}/error.log info;
events { worker_connections 256; }
http {
    log_format lg '$server_port "$request" $status';
    access_log ${this.accessLog} lg;
    client_body_temp_path ${d}/client_body;
    proxy_temp_path ${d}/proxy;
    fastcgi_temp_path ${d}/fastcgi;
    uwsgi_temp_path ${d}/uwsgi;
    scgi_temp_path ${d}/scgi;
    ${map[0]}
    upstream livegate { server 127.0.0.1:${this.livegatePort}; }
${servers}
}
`;
    const file = path.join(d, 'nginx.conf');
    fs.writeFileSync(file, text);
    return file;
  }

  // Lets WebSocket upgrades through (or refuses them again) by a reload.
  async allowWebSockets(allowed) {
    this.webSockets = allowed;
    this.write();
    await run(this.bin, ['-t', '-p', this.dir, '-e', path.join(this.dir, 'error.log'), '-c', this.conf]);
    this.proc.signal('SIGHUP');
    await this.applied();
  }

  // Access log lines (for a site's port and a path prefix, if given), as
  // { port, method, path, protocol, status }.
  requests({ port = null, path: prefix = '' } = {}) {
    let text = '';
    try {
      text = fs.readFileSync(this.accessLog, 'utf8');
    } catch {
      return [];
    }
    const out = [];
    for (const line of text.split('\n')) {
      const m = line.match(/^(\d+) "(\S+) (\S+) (\S+)" (\d+)$/);
      if (!m) continue;
      const r = { port: Number(m[1]), method: m[2], path: m[3], protocol: m[4], status: Number(m[5]) };
      if ((port === null || r.port === port) && r.path.startsWith(prefix)) out.push(r);
    }
    return out;
  }

  stop() {
    return this.proc ? this.proc.stop() : undefined;
  }
}
