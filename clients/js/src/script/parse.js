/* Parses a refetched page without holding the main thread. DOMParser parses
 * a whole document in one go: 23 ms for a 2,000-row table, 100 ms and more
 * for 10,000 rows, all in one task. An inert document (no browsing
 * context: its scripts never run, nothing loads) opened for writing
 * parses what document.write() gives it as it comes, across any chunk
 * boundary, so the page is written in slices of SLICE chars as the
 * response streams in, and the main thread is given back between slices
 * once a task has run SLICE_MS. Where that is not available (no streamed
 * body, a browser whose inert documents refuse open()), DOMParser. */

const SLICE = 16384;
const SLICE_MS = 8;

// Gives the main thread back: what is waiting (input, frames) runs first.
function yieldToMain() {
  if (typeof scheduler !== 'undefined' && scheduler.yield) return scheduler.yield();
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => resolve();
    ch.port2.postMessage(null);
  });
}

function inertDocument() {
  try {
    const doc = document.implementation.createHTMLDocument('');
    doc.open();
    return doc;
  } catch (e) {
    return null;
  }
}

// source: a fetch Response (its body is read) or the page's text. Resolves
// to { doc, html }: the parsed document and the text it came from.
export async function parseHtml(source) {
  const text = typeof source === 'string';
  const doc = text || (source.body && typeof TextDecoder !== 'undefined') ? inertDocument() : null;
  if (!doc) {
    const html = text ? source : await source.text();
    return { doc: new DOMParser().parseFromString(html, 'text/html'), html };
  }
  const parts = [];
  let since = performance.now();
  const write = async (chunk) => {
    for (let i = 0; i < chunk.length; i += SLICE) {
      doc.write(chunk.slice(i, i + SLICE));
      if (performance.now() - since > SLICE_MS) {
        await yieldToMain();
        since = performance.now();
      }
    }
  };
  if (text) {
    await write(source);
    doc.close();
    return { doc, html: source };
  }
  const reader = source.body.getReader();
  const decoder = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const chunk = decoder.decode(value, { stream: true });
    parts.push(chunk);
    await write(chunk);
  }
  const last = decoder.decode();
  parts.push(last);
  await write(last);
  doc.close();
  return { doc, html: parts.join('') };
}
