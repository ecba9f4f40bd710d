// Todos as a Redis hash id -> JSON {title}; ids from INCR.
import 'server-only';
import { redis } from './redis.js';

const TODOS = 'next:todos';
const SEQ = 'next:todos:seq';
export const MAX_TITLE = 200;

export async function listTodos() {
  const all = await (await redis()).hGetAll(TODOS);
  const items = [];
  for (const [id, raw] of Object.entries(all)) {
    try {
      items.push({ id: Number(id), title: String(JSON.parse(raw).title) });
    } catch {
      // a foreign value in our key: skip it
    }
  }
  return items.sort((a, b) => a.id - b.id);
}

export async function addTodo(title) {
  const r = await redis();
  const id = await r.incr(SEQ);
  await r.hSet(TODOS, String(id), JSON.stringify({ title }));
  // Every page following "todos" refreshes: plain Redis PUBLISH, exactly
  // what `redis-cli PUBLISH todos ...` does.
  await r.publish('todos', JSON.stringify({ entity: 'todos', id: String(id), action: 'created' }));
  return id;
}
