// What not to do, kept for the tests: the drop-in script tag on a page React
// owns. The script sees React's markers and leaves the page alone (it logs
// a warning pointing at livegate/next) instead of morphing React's DOM.
import { connection } from 'next/server';
import { liveToken, livegateUrl } from '../../lib/live.js';
import { listTodos } from '../../lib/todos.js';
import { Playground } from '../playground.js';

export default async function Plain() {
  await connection();
  const todos = await listTodos();
  return (
    <main>
      <h1>Plain script tag</h1>
      <p id="summary">{todos.length} todos</p>
      <Playground />
      <script src={`${livegateUrl()}/livegate.js`} data-token={liveToken(['todos'])} async />
    </main>
  );
}
