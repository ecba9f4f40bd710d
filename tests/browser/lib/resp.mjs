// One kept-open Redis connection for the benchmarks, so that the moment a
// PUBLISH is written is the moment it leaves (redis-cli's start-up, a few
// ms, would count as latency). Commands are sent one at a time; only the
// replies the benchmarks read (status, integer, error) are understood.

import net from 'node:net';

const MAX_REPLY = 4096;

export class Resp {
  static connect(port) {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: '127.0.0.1', port }, () => resolve(new Resp(sock)));
      sock.once('error', reject);
    });
  }

  constructor(sock) {
    this.sock = sock;
    this.sock.setNoDelay(true);
    this.buf = '';
    this.waiting = null;
    sock.setEncoding('utf8');
    sock.on('data', (d) => {
      this.buf += d;
      if (this.buf.length > MAX_REPLY) this.fail(new Error('Redis reply too long for this client'));
      this.deliver();
    });
    sock.on('error', (e) => this.fail(e));
    sock.on('close', () => this.fail(new Error('Redis connection closed')));
  }

  fail(e) {
    const w = this.waiting;
    this.waiting = null;
    if (w) w.reject(e);
  }

  deliver() {
    const end = this.buf.indexOf('\r\n');
    if (end < 0 || !this.waiting) return;
    const line = this.buf.slice(0, end);
    this.buf = this.buf.slice(end + 2);
    const w = this.waiting;
    this.waiting = null;
    if (line[0] === '-') w.reject(new Error(line.slice(1)));
    else if (line[0] === ':') w.resolve(Number(line.slice(1)));
    else if (line[0] === '+') w.resolve(line.slice(1));
    else w.reject(new Error(`unexpected Redis reply ${line.slice(0, 40)}`));
  }

  // Resolves to the reply; `sent` (if given) is called right after the write.
  command(args, sent) {
    if (this.waiting) return Promise.reject(new Error('one command at a time'));
    const parts = [`*${args.length}\r\n`];
    for (const a of args) parts.push(`$${Buffer.byteLength(String(a))}\r\n${a}\r\n`);
    const p = new Promise((resolve, reject) => { this.waiting = { resolve, reject }; });
    this.sock.write(parts.join(''));
    if (sent) sent();
    return p;
  }

  close() {
    this.sock.destroy();
  }
}
