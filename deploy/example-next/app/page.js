// The todo list: a server component. The one line that makes it live is
// <LiveRefresh>: a publish on "todos" re-renders this page on the server
// and React reconciles it in place.
import Link from 'next/link';
import { connection } from 'next/server';
import { LiveRefresh } from 'livegate/next';
import { liveToken, livegateUrl } from '../lib/live.js';
import { listTodos } from '../lib/todos.js';
import { add } from './actions.js';
import { Playground } from './playground.js';

export default async function Home({ searchParams }) {
  await connection(); // rendered per request: the token and the list are this request's
  const todos = await listTodos();
  return (
    <main>
      <h1>Todos</h1>
      <p id="summary">{todos.length} todos</p>
      <ul id="todos">
        {todos.map((t) => <li key={t.id} id={`todo-${t.id}`}>{t.title}</li>)}
      </ul>
      <form action={add}>
        <input id="new-title" name="title" maxLength={200} placeholder="What needs doing?" autoComplete="off" required />
        <button id="add">Add</button>
      </form>
      <Playground />
      <p><Link id="to-room-1" href="/rooms/1">Room 1</Link> · <Link href="/plain">the plain script tag</Link></p>
      <LiveRefresh token={liveToken(['todos'], await searchParams)} url={livegateUrl()} />
    </main>
  );
}
