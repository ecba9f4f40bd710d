// Reading tokens and naming endpoints (src/core/token.js, endpoints.js).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { endpoints } from '../src/core/endpoints.js';
import { channelKey, checkTokenAge, claimsOf, expiresAt, issuedAt } from '../src/core/token.js';
import { token } from './fake.mjs';

test('claims, times and channel keys', () => {
  const t = token({ channels: ['b', 'a'], iat: 1700000000.123, exp: 1700000600, sub: 'é' });
  assert.deepEqual(claimsOf(t).channels, ['b', 'a']);
  assert.equal(claimsOf(t).sub, 'é', 'UTF-8 claims decode');
  assert.equal(issuedAt(t), 1700000000123);
  assert.equal(expiresAt(t), 1700000600000);
  assert.equal(channelKey(t), channelKey(token({ channels: ['a', 'b'], exp: 1 })));
  assert.notEqual(channelKey(t), channelKey(token({ channels: ['a'], exp: 1 })));
  for (const bad of ['', 'x', 'a.b.c', null, 'a.' + Buffer.from('[1]').toString('base64url') + '.c']) {
    assert.equal(claimsOf(bad), null);
  }
  assert.equal(channelKey('junk'), 'token:junk', 'an unreadable token is its own key');
});

test('endpoints follow from a base URL or a WebSocket URL', () => {
  assert.deepEqual(endpoints('https://gateway.example'), { ws: 'wss://gateway.example/ws', stream: 'https://gateway.example/sse' });
  assert.deepEqual(endpoints('http://127.0.0.1:8080/livegate'), { ws: 'ws://127.0.0.1:8080/livegate/ws', stream: 'http://127.0.0.1:8080/livegate/sse' });
  assert.deepEqual(endpoints('/livegate/', 'https://shop.example/cart?x=1'), { ws: 'wss://shop.example/livegate/ws', stream: 'https://shop.example/livegate/sse' });
  assert.deepEqual(endpoints('wss://g.example/lg/ws'), { ws: 'wss://g.example/lg/ws', stream: 'https://g.example/lg/sse' });
  assert.throws(() => endpoints('ftp://g.example/'), /http\(s\) or ws\(s\)/);
  assert.throws(() => endpoints('not a url'));
});

test('checkTokenAge: fresh tokens pass; old or iat-less ones are named', () => {
  const now = 1700000100000;
  assert.equal(checkTokenAge(token({ channels: ['a'], iat: 1700000099, exp: 1700009999 }), 60000, now), '');
  assert.match(checkTokenAge(token({ channels: ['a'], iat: 1700000000, exp: 1700000050 }), 60000, now),
    /minted 100 s before .* and has expired: .*statically prerendered/);
  assert.match(checkTokenAge(token({ channels: ['a'], exp: 1700009999 }), 60000, now), /no iat claim/);
  assert.equal(checkTokenAge(token({ channels: ['a'], iat: 1, exp: 2 }), 0, now), '', '0 disables');
});
