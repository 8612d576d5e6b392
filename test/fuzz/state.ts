// What the fuzzer compares before and after: every row of Postgres and every Durable Object row
// that belongs to its own accounts and events. (Other test files write to the same database at
// the same time, so whole-table counts would move under it.)
import { listDurableObjectIds, runInDurableObject } from 'cloudflare:test';
import { sql } from 'drizzle-orm';
import { withDb } from '../../src/db/client';
import { env } from '../helpers';
import { RELAYS_PER_EVENT, seatRelayName } from '../../src/durable/SeatRelay';

export interface Actors {
  userIds: string[];
  eventIds: string[];
  performerIds: string[];
  venueIds: string[];
}

const uuidArray = (ids: string[]) => `{${ids.join(',')}}`;

async function postgresRows(actors: Actors): Promise<Record<string, string>> {
  const users = uuidArray(actors.userIds);
  const events = uuidArray(actors.eventIds);
  const result = await withDb(env, (db) =>
    db.execute<Record<string, string>>(sql`
      select
        (select md5(coalesce(string_agg(u::text, '|' order by u.id), '')) from users u where u.id = any(${users}::uuid[])) as users,
        (select md5(coalesce(string_agg(p::text, '|' order by p.id), '')) from performers p where p.id = any(${uuidArray(actors.performerIds)}::uuid[])) as performers,
        (select md5(coalesce(string_agg(v::text, '|' order by v.id), '')) from venues v where v.id = any(${uuidArray(actors.venueIds)}::uuid[])) as venues,
        (select md5(coalesce(string_agg(e::text, '|' order by e.id), '')) from events e where e.id = any(${events}::uuid[])) as events,
        (select md5(coalesce(string_agg(t::text, '|' order by t.id), '')) from tickets t where t.event_id = any(${events}::uuid[])) as tickets,
        (select md5(coalesce(string_agg(b::text, '|' order by b.id), '')) from bookings b
          where b.event_id = any(${events}::uuid[]) or b.user_id = any(${users}::uuid[])) as bookings,
        (select md5(coalesce(string_agg(bt::text, '|' order by bt.booking_id, bt.ticket_id), '')) from booking_tickets bt
          join bookings b on b.id = bt.booking_id where b.event_id = any(${events}::uuid[]) or b.user_id = any(${users}::uuid[])) as booking_tickets,
        -- What was queued for whom (delivery's attempts and times move by themselves, so they are left out).
        (select md5(coalesce(string_agg(n.dedupe_key || ' ' || n.kind, '|' order by n.dedupe_key), '')) from notifications n
          where n.user_id = any(${users}::uuid[])) as notifications
    `),
  );
  return result.rows[0]!;
}

/** Every row of every table of a Durable Object's SQLite storage, and its alarm. */
async function objectRows(stub: DurableObjectStub, skip: (table: string, row: Record<string, unknown>) => boolean = () => false) {
  return runInDurableObject(stub, async (_instance, state) => {
    const tables = state.storage.sql
      .exec<{ name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name`)
      .toArray()
      .map((row) => row.name);
    // A table a line, so a failed comparison names the table that changed.
    const dump: Record<string, string> = { alarm: JSON.stringify(await state.storage.getAlarm()) };
    for (const table of tables) dump[table] = JSON.stringify(state.storage.sql.exec(`SELECT * FROM "${table}" ORDER BY rowid`).toArray().filter((row) => !skip(table, row)));
    return dump;
  });
}

/**
 * The waiting room's clock-driven bookkeeping (its alarm, the last tick and the admission budget)
 * moves with time whatever anyone sends; its line and draw do not.
 */
const waitingRoomClockwork = (table: string, row: Record<string, unknown>) => table === 'meta' && /tick|budget|rate|admitted_recent|last/i.test(String(row.key));

/**
 * The seat relays subscribed to a TicketLock: opening a seat stream (which the fuzzer does, as
 * anyone may) subscribes one, and an idle one is dropped later. Bookkeeping of open streams, not
 * of seats, bookings or money.
 */
const seatStreamSubscriptions = (table: string) => table === 'seat_relays';

export interface Snapshot {
  postgres: Record<string, string>;
  ticketLocks: Record<string, Record<string, string>>;
  waitingRooms: Record<string, Record<string, string>>;
}

export async function snapshot(actors: Actors): Promise<Snapshot> {
  const ticketLocks: Snapshot['ticketLocks'] = {};
  const waitingRooms: Snapshot['waitingRooms'] = {};
  for (const eventId of actors.eventIds) {
    ticketLocks[eventId] = await objectRows(env.TICKET_LOCK.getByName(eventId), seatStreamSubscriptions);
    const room = await objectRows(env.WAITING_ROOM.getByName(eventId), waitingRoomClockwork);
    waitingRooms[eventId] = { ...room, alarm: 'null' };
  }
  return { postgres: await postgresRows(actors), ticketLocks, waitingRooms };
}

/** Names under which no Durable Object may exist: ids of nothing, and other spellings of real ones. */
export async function existingObjectsNamed(names: Iterable<string>): Promise<string[]> {
  const existing = new Set(
    [...(await listDurableObjectIds(env.TICKET_LOCK)), ...(await listDurableObjectIds(env.WAITING_ROOM)), ...(await listDurableObjectIds(env.SEAT_RELAY))].map((id) => id.toString()),
  );
  const found: string[] = [];
  for (const name of names) {
    const relays = Array.from({ length: RELAYS_PER_EVENT }, (_, k) => env.SEAT_RELAY.idFromName(seatRelayName(name, k)).toString());
    if (existing.has(env.TICKET_LOCK.idFromName(name).toString()) || existing.has(env.WAITING_ROOM.idFromName(name).toString()) || relays.some((id) => existing.has(id))) {
      found.push(name);
    }
  }
  return found;
}

/**
 * Waits until nothing the setup started is still under way in the background: a confirmed
 * booking whose Postgres write was left to the alarm (a slow database under the whole suite's load
 * does that) would otherwise land in the middle of a group and look like a change the fuzzer made.
 */
export async function settled(actors: Actors, withinMs = 30_000): Promise<void> {
  const giveUpAt = Date.now() + withinMs;
  for (;;) {
    let pending = 0;
    for (const eventId of actors.eventIds) {
      pending += await runInDurableObject(env.TICKET_LOCK.getByName(eventId), async (_instance, state) => {
        const hasBookings = state.storage.sql.exec(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'bookings'`).toArray().length > 0;
        return hasBookings ? Number(state.storage.sql.exec(`SELECT count(*) AS n FROM bookings WHERE write_pending = 1`).one().n) : 0;
      });
    }
    if (pending === 0) return;
    if (Date.now() > giveUpAt) throw new Error(`${pending} confirmation write(s) still pending ${withinMs} ms after the setup`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
