/* Tabs showing the same URL share one refetch: the leading tab of their
 * group (core/transport-tabs.js) fetches the page once and hands the
 * answer to the others over the group's BroadcastChannel; each tab still
 * parses and morphs it into its own DOM, with its own typed state. Five
 * tabs of a page cost the origin one request per publish, not five.
 *
 * A shared answer must be at least as new as what the asking tab knows:
 * the leader numbers the frames it relays, a follower asks with the number
 * of the last one it received, and only a fetch the leader started after
 * that frame answers it (or one kept from the last KEEP_MS that did). A
 * follower whose leader changes, or who gets no answer in PAGE_WAIT_MS,
 * fetches for itself. So does a refresh no invalidation asked for (the
 * page's own livegate.refresh(), maybe after its own change). */

export const PAGE_WAIT_MS = 10000;
const KEEP_MS = 10000;
const MAX_KEPT = 8;
const MAX_SHARED_CHARS = 8 * 1024 * 1024; // bigger pages are fetched by each tab; also what is kept in all

function withoutHash(url) {
  const i = url.indexOf('#');
  return i < 0 ? url : url.slice(0, i);
}

// An answer from fetchPage, its body read so that it can be shared.
async function asText(answer) {
  const ok = answer.status === 200 && /^(text\/html|application\/xhtml\+xml)/i.test(answer.type);
  const body = ok ? await answer.body.text() : '';
  return { status: answer.status, type: answer.type, redirected: answer.redirected, url: answer.url, body };
}

/* group: open.group of a tabs transport; fetchPage(url) -> answer (refetch.js);
 * env: timers and clock (core/env.js). Returns get(url, shareable). */
export function sharedFetch(group, fetchPage, env) {
  const inflight = new Map(); // leader: url -> { seq, promise }
  const kept = new Map(); // leader: url -> { seq, answer, at }, newest last
  const waiting = new Set(); // follower: { url, epoch, seen, resolve, reject, timer }

  function share(url, seq, answer) {
    const big = answer.body.length > MAX_SHARED_CHARS;
    group.post({ t: 'page', url, epoch: group.epoch, seq, answer: big ? null : answer });
  }

  function keep(url, seq, answer) {
    kept.delete(url);
    kept.set(url, { seq, answer, at: env.now() });
    let chars = 0;
    for (const k of kept.values()) chars += k.answer.body.length;
    while (kept.size > MAX_KEPT || chars > MAX_SHARED_CHARS) {
      const oldest = kept.keys().next().value;
      chars -= kept.get(oldest).answer.body.length;
      kept.delete(oldest);
    }
  }

  // Leader: an answer fetched after frame `seen`, one fetch per URL.
  function leaderGet(url, seen, forOther) {
    const k = kept.get(url);
    if (k && seen <= k.seq && env.now() - k.at < KEEP_MS) {
      if (forOther) share(url, k.seq, k.answer); // it came after the last hand-out
      return Promise.resolve(k.answer);
    }
    const f = inflight.get(url);
    if (f && seen <= f.seq) return f.promise;
    const seq = group.seq;
    const epoch = group.epoch;
    const entry = { seq, promise: null };
    entry.promise = fetchPage(url).then(asText).then((answer) => {
      if (group.epoch === epoch && group.role === 'leader') {
        keep(url, seq, answer);
        share(url, seq, answer);
      }
      return answer;
    }).finally(() => {
      if (inflight.get(url) === entry) inflight.delete(url);
    });
    inflight.set(url, entry);
    return entry.promise;
  }

  function settle(w, answer, error) {
    waiting.delete(w);
    env.clearTimeout(w.timer);
    if (answer) w.resolve(answer);
    else w.reject(error);
  }

  // Follower: ask the leader; the answer comes to every tab that waits for it.
  function ask(url) {
    return new Promise((resolve, reject) => {
      const w = { url, epoch: group.epoch, seen: group.seq, resolve, reject, timer: 0 };
      w.timer = env.setTimeout(() => settle(w, null, new Error('no answer from the leading tab')), PAGE_WAIT_MS);
      waiting.add(w);
      group.post({ t: 'fetch?', url, epoch: w.epoch, seen: w.seen });
    });
  }

  group.listen((m) => {
    if (m.t === 'fetch?' && group.role === 'leader' && m.epoch === group.epoch) {
      leaderGet(m.url, m.seen, true).catch(() => {}); // a failure: the asker times out and fetches itself
    } else if (m.t === 'page') {
      for (const w of [...waiting]) {
        if (w.url === m.url && w.epoch === m.epoch && w.seen <= m.seq) {
          settle(w, m.answer, new Error('the page is too big to share'));
        }
      }
    } else if (m.t === 'leader' || m.t === 'bye') {
      for (const w of [...waiting]) settle(w, null, new Error('the leading tab changed'));
    }
  });

  return async function get(url, shareable) {
    const key = withoutHash(url);
    if (shareable && group.role === 'leader') return leaderGet(key, group.seq, false);
    if (shareable && group.role === 'follower' && group.epoch) {
      try {
        return await ask(key);
      } catch (e) {
        // the leader changed or did not answer: fetch it ourselves
      }
    }
    return fetchPage(url);
  };
}
