'use client';
// Client state a refresh must not disturb: a counter, a typed controlled
// input and text derived from it.
import { useState } from 'react';

export function Playground() {
  const [count, setCount] = useState(0);
  const [text, setText] = useState('');
  return (
    <section>
      <button id="counter" type="button" onClick={() => setCount((c) => c + 1)}>count: {count}</button>
      <input id="typed" value={text} onChange={(e) => setText(e.target.value)} placeholder="type here" />
      <p id="echo">echo: {text}</p>
    </section>
  );
}
