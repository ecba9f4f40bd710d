// livegate/react's useLivegate (src/react.js) under a stand-in React
// (react-stub.mjs): the options reach the core - transport included, as
// <LiveRefresh> passes it -, a new token is followed on the same
// connection, and unmounting closes it.
import assert from 'node:assert/strict';
import { register } from 'node:module';
import { test } from 'node:test';
import { fakeTransport, settle, token } from './fake.mjs';

register('./react-resolve.mjs', import.meta.url);
const { renderHook } = await import('react');
const { useLivegate } = await import('../src/react.js');

const URL_ = 'http://127.0.0.1:8620';
const t1 = token({ channels: ['todos'], exp: 4102444800, iat: Date.now() / 1000 });
const t2 = token({ channels: ['todos', 'user:42'], exp: 4102444800, iat: Date.now() / 1000 });

test('the transport option reaches the core; a new token re-subscribes; unmount closes', async () => {
  const transport = fakeTransport();
  const h = renderHook((tok) => useLivegate(tok, () => {}, { url: URL_, transport }));
  h.render(t1);
  await settle();
  assert.equal(transport.conns.length, 1, 'the given transport made the connection');
  const c = transport.last();
  c.open();
  await settle();
  assert.deepEqual(c.subscribes(), [t1]);
  c.frame({ type: 'subscribed', channels: ['todos'] });
  h.render(t2);
  await settle();
  assert.deepEqual(c.subscribes(), [t1, t2], 'followed on the same connection');
  assert.equal(transport.conns.length, 1);
  h.render(t2);
  await settle();
  assert.equal(c.subscribes().length, 2, 'the same token again sends nothing');
  h.unmount();
  await settle();
  assert.equal(c.closedByClient, true, 'unmounting closes the connection');
});

test('a different transport option is a new connection, the old one closed', async () => {
  const a = fakeTransport();
  const b = fakeTransport();
  const h = renderHook((tr) => useLivegate(t1, () => {}, { url: URL_, transport: tr }));
  h.render(a);
  await settle();
  a.last().open();
  h.render(b);
  await settle();
  assert.equal(a.last().closedByClient, true);
  assert.equal(b.conns.length, 1);
  h.unmount();
  await settle();
  assert.equal(b.last().closedByClient, true);
});
