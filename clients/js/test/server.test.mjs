// livegate/server's mintToken (src/server.js): signature and claims
// checked here with node:crypto and, independently, with PyJWT (Debian's
// python3-jwt); the private API client is tested against the real livegate
// in tests/browser/next.test.mjs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { test } from 'node:test';
import { MAX_TTL, createApi, mintToken } from '../src/server.js';

const SECRET = 'k'.repeat(32);
const part = (t, i) => JSON.parse(Buffer.from(t.split('.')[i], 'base64url'));

test('HS256 over header.claims with exactly the contract\'s claims; iat in ms as a fraction', () => {
  const now = 1764860000123;
  const t = mintToken({ channels: ['todos', 'user:42'], ttl: 600, sub: 'u42', now }, SECRET);
  const [h, c, sig] = t.split('.');
  assert.deepEqual(part(t, 0), { alg: 'HS256', typ: 'JWT' });
  assert.deepEqual(part(t, 1), { channels: ['todos', 'user:42'], iat: 1764860000.123, exp: 1764860600, sub: 'u42' });
  assert.equal(sig, createHmac('sha256', SECRET).update(h + '.' + c).digest('base64url'));
  const plain = mintToken({ channels: ['a'], now }, Buffer.from(SECRET));
  assert.deepEqual(Object.keys(part(plain, 1)).sort(), ['channels', 'exp', 'iat'], 'no sub unless given');
  assert.equal(part(plain, 1).exp, 1764860000 + 3600, 'default ttl: livegate\'s 3600 s');
  assert.deepEqual(part(mintToken({ channels: ['a'], kid: 'k2' }, SECRET), 0), { alg: 'HS256', typ: 'JWT', kid: 'k2' });
});

// PyJWT compares iat with the current whole second, so an iat with a
// millisecond fraction is "in the future" within its own second: leeway 1.
test('PyJWT verifies the token with the same secret and refuses another', () => {
  const t = mintToken({ channels: ['todos'], ttl: 60 }, SECRET);
  const py = `
import jwt, sys
c = jwt.decode(sys.argv[1], sys.argv[2], algorithms=["HS256"], leeway=1)
print(",".join(c["channels"]), type(c["iat"]).__name__)
try:
    jwt.decode(sys.argv[1], "x" * 32, algorithms=["HS256"], leeway=1)
    print("accepted a wrong key")
except jwt.InvalidSignatureError:
    print("refused")
`;
  const out = execFileSync('/usr/bin/python3', ['-c', py, t, SECRET], { encoding: 'utf8' }).trim().split('\n');
  assert.deepEqual(out, ['todos float', 'refused']);
});

test('bad input throws before anything is signed', () => {
  const bad = [
    [{ channels: [] }, SECRET, /channels must be an array of 1 to 64/],
    [{ channels: 'todos' }, SECRET, /channels must be an array/],
    [{ channels: Array.from({ length: 65 }, (_, i) => 'c' + i) }, SECRET, /1 to 64/],
    [{ channels: ['has space'] }, SECRET, /bad channel name/],
    [{ channels: ['x'.repeat(201)] }, SECRET, /bad channel name/],
    [{ channels: ['é'] }, SECRET, /bad channel name/],
    [{ channels: ['a'], ttl: 0 }, SECRET, /ttl must be/],
    [{ channels: ['a'], ttl: MAX_TTL + 1 }, SECRET, /ttl must be/],
    [{ channels: ['a'], ttl: 1.5 }, SECRET, /ttl must be/],
    [{ channels: ['a'], sub: 'x'.repeat(257) }, SECRET, /sub must be/],
    [{ channels: ['a'] }, 'short', /at least 32 bytes/],
    [{ channels: ['a'] }, undefined, /at least 32 bytes/],
  ];
  for (const [opts, secret, re] of bad) assert.throws(() => mintToken(opts, secret), re, JSON.stringify(opts));
  assert.ok(mintToken({ channels: ['x'.repeat(200)], ttl: MAX_TTL }, SECRET));
});

test('createApi refuses to start without a key and checks names before calling', async () => {
  assert.throws(() => createApi({}), /apiKey/);
  let called = 0;
  const api = createApi({ apiKey: 'k', fetch: () => { called++; } });
  await assert.rejects(api.publish('bad name', 1), /bad channel name/);
  await assert.rejects(api.createToken({ channels: [] }), /channels/);
  assert.equal(called, 0);
});

test('createToken sends the render time when given, and nothing else', async () => {
  const bodies = [];
  const fetch = async (url, init) => {
    bodies.push(JSON.parse(init.body));
    return new Response(JSON.stringify({ token: 't', expires_at: 1 }), { status: 201 });
  };
  const api = createApi({ apiKey: 'k', fetch });
  await api.createToken({ channels: ['todos'] });
  await api.createToken({ channels: ['todos'], iat: 1764860000.123 });
  assert.deepEqual(bodies, [{ channels: ['todos'] }, { channels: ['todos'], iat: 1764860000.123 }]);
  await assert.rejects(api.createToken({ channels: ['todos'], iat: '1764860000' }), /iat must be/);
  assert.equal(bodies.length, 2);
});
