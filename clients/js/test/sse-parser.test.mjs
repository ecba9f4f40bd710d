// The event-stream parser (src/core/sse-parser.js): events however the
// bytes are cut, line ends, comments, and the bound.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_EVENT_CHARS, SseError, createSseParser } from '../src/core/sse-parser.js';

function collect(max) {
  const out = { events: [], comments: [] };
  out.parser = createSseParser({ event: (d) => out.events.push(d), comment: (c) => out.comments.push(c) }, max);
  return out;
}

const enc = (s) => new TextEncoder().encode(s);

const STREAM = ': ping\r\n\r\ndata: {"type":"subscribed","channels":["tödös"]}\n\n' +
  'data: first line\r\ndata:second €\rdata\n\r\n: x\nevent: ignored\nid: 7\ndata: 𝄞 last\n\n';
const EVENTS = ['{"type":"subscribed","channels":["tödös"]}', 'first line\nsecond €\n', '𝄞 last'];

test('events, comments, CRLF, CR and LF line ends, multi-line data, ignored fields', () => {
  const c = collect();
  c.parser.push(enc(STREAM));
  assert.deepEqual(c.events, EVENTS);
  assert.deepEqual(c.comments, [' ping', ' x']);
});

test('the same events however the bytes are cut: every split point, inside UTF-8 sequences and CRLF pairs', () => {
  const bytes = enc(STREAM);
  for (let i = 0; i <= bytes.length; i++) {
    for (const j of [i, Math.min(bytes.length, i + 1), Math.min(bytes.length, i + 3)]) {
      const c = collect();
      c.parser.push(bytes.subarray(0, i));
      c.parser.push(bytes.subarray(i, j));
      c.parser.push(bytes.subarray(j));
      assert.deepEqual(c.events, EVENTS, 'cut at ' + i + ' and ' + j);
      assert.deepEqual(c.comments, [' ping', ' x']);
    }
  }
  const c = collect();
  for (const b of bytes) c.parser.push(Uint8Array.of(b)); // one byte at a time
  assert.deepEqual(c.events, EVENTS);
});

test('a CR at the end of a chunk and the LF opening the next end one line, not two', () => {
  const c = collect();
  c.parser.push(enc('data: a\r'));
  c.parser.push(enc('\ndata: b\r'));
  c.parser.push(enc('\n\r'));
  c.parser.push(enc('\n'));
  assert.deepEqual(c.events, ['a\nb']);
});

test('an event is dispatched only at its blank line; one without data is none', () => {
  const c = collect();
  c.parser.push(enc('data: x\n'));
  assert.deepEqual(c.events, []);
  c.parser.push(enc('\nevent: e\n\n\n\n'));
  assert.deepEqual(c.events, ['x']);
});

test('an event over the bound throws, as does a line that never ends; just under it passes', () => {
  const max = 100;
  const ok = collect(max);
  ok.parser.push(enc('data: ' + 'a'.repeat(49) + '\ndata: ' + 'b'.repeat(50) + '\n\n'));
  assert.equal(ok.events[0].length, 100);

  const big = collect(max);
  big.parser.push(enc('data: ' + 'a'.repeat(60) + '\n'));
  assert.throws(() => big.parser.push(enc('data: ' + 'b'.repeat(60) + '\n')), SseError);

  // No line end ever: it throws once the pending line passes the bound,
  // however small the pieces.
  const endless = collect(max);
  assert.throws(() => {
    for (let i = 0; i < 1000; i++) endless.parser.push(enc('data: xxxxxxxx'));
  }, SseError);

  const comment = collect(max);
  assert.throws(() => comment.parser.push(enc(':' + 'p'.repeat(200))), /a line over 100/);
  assert.equal(MAX_EVENT_CHARS, 65536);
});
