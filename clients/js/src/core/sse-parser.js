/* An incremental, bounded parser of a text/event-stream body (the HTML
 * standard's "event stream interpretation", the part livegate uses): bytes
 * go in as they arrive, split anywhere (inside a UTF-8 sequence, between a
 * CR and its LF); lines end at CRLF, LF or CR; the `data:` lines of an
 * event are joined by "\n" and a blank line ends the event; a line opening
 * with ":" is a comment (livegate's "ping" every 25 s); other fields (event,
 * id, retry) are ignored: livegate sends none.
 *
 * Bounded: an event whose data, or a line (ended or not), grows past `max`
 * characters throws (a protocol error: livegate's frames are a few hundred
 * bytes), so a broken or hostile stream cannot make it hold more than
 * twice that. */

export const MAX_EVENT_CHARS = 65536;

export class SseError extends Error {}

// on: { event(data), comment(text) }
export function createSseParser(on, max = MAX_EVENT_CHARS) {
  const decoder = new TextDecoder();
  let partial = ''; // the line not ended yet
  let data = []; // the data lines of the event so far
  let size = 0; // their characters, with the "\n"s joining them
  let afterCR = false; // the last chunk ended with CR: an LF opening the next ends nothing

  function tooBig(what) {
    return new SseError(what + ' over ' + max + ' characters');
  }

  function line(l) {
    if (l === '') {
      const d = data;
      data = [];
      size = 0;
      if (d.length) on.event(d.join('\n'));
      return;
    }
    if (l.charCodeAt(0) === 58) { // ':'
      on.comment(l.slice(1));
      return;
    }
    const colon = l.indexOf(':');
    if ((colon < 0 ? l : l.slice(0, colon)) !== 'data') return;
    let v = colon < 0 ? '' : l.slice(colon + 1);
    if (v.charCodeAt(0) === 32) v = v.slice(1);
    size += v.length + (data.length ? 1 : 0);
    if (size > max) throw tooBig('an event');
    data.push(v);
  }

  function text(s) {
    if (!s) return; // an empty chunk (or a UTF-8 sequence's start) changes nothing, afterCR included
    let i = 0;
    if (afterCR && s.charCodeAt(0) === 10) i = 1;
    afterCR = false;
    const eol = /[\r\n]/g;
    while (i < s.length) {
      eol.lastIndex = i;
      const m = eol.exec(s);
      if (!m) {
        partial += s.slice(i);
        if (partial.length > max) throw tooBig('a line');
        return;
      }
      let j = m.index;
      const l = partial + s.slice(i, j);
      partial = '';
      if (l.length > max) throw tooBig('a line');
      if (s.charCodeAt(j) === 13) {
        if (j + 1 === s.length) afterCR = true;
        else if (s.charCodeAt(j + 1) === 10) j++;
      }
      i = j + 1;
      line(l);
    }
  }

  return {
    // A chunk of the body (Uint8Array); throws SseError past the bound.
    push(bytes) {
      text(decoder.decode(bytes, { stream: true }));
    },
  };
}
