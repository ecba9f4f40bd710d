// A route following other channels: room:<id>. Navigating from room 1 to
// room 2 keeps the same <LiveRefresh>, whose new token re-subscribes its
// connection to room:2.
import Link from 'next/link';
import { connection } from 'next/server';
import { LiveRefresh } from 'livegate/next';
import { liveToken, livegateUrl } from '../../../lib/live.js';
import { redis } from '../../../lib/redis.js';
import { Playground } from '../../playground.js';

export default async function Room({ params, searchParams }) {
  await connection();
  const { id } = await params;
  const room = /^[0-9]{1,9}$/.test(id) ? id : '0';
  const topic = (await (await redis()).get(`next:room:${room}`)) || '(no topic)';
  const other = room === '1' ? '2' : '1';
  return (
    <main>
      <h1 id="room-title">Room {room}</h1>
      <p id="room-topic">{topic}</p>
      <Playground />
      <p><Link id="to-other-room" href={`/rooms/${other}`}>Room {other}</Link> · <Link href="/">Todos</Link></p>
      <LiveRefresh token={liveToken([`room:${room}`], await searchParams)} url={livegateUrl()} />
    </main>
  );
}
