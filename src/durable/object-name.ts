// Invariant 7 (DESIGN.md): a Durable Object is addressed only by the canonical id of what it
// serves. Routes canonicalize ids at the edge (src/validation.ts); this is the last guard, in the
// object itself, so a caller that forgot cannot create a second copy of an event's lock or line.
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ANY_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Throws unless `eventId` is canonical and, for an object named after an event id in any
 * spelling, is exactly that name. (Objects with names that are no event id at all exist only as
 * test fixtures that reuse one object for many events.)
 */
export function assertServesEvent(ctx: DurableObjectState, eventId: string, what: string): void {
  const name = ctx.id.name;
  if (!CANONICAL_UUID.test(eventId) || (name !== undefined && ANY_UUID.test(name) && name !== eventId)) {
    throw new Error(`${what} named ${JSON.stringify(name)} was asked about event ${JSON.stringify(eventId)}: objects are addressed by canonical event ids only`);
  }
}

/** Seat-stream relays an event has (src/durable/SeatRelay.ts); here, a leaf module, so benchmarks can read it. */
export const RELAYS_PER_EVENT = 8;

/** The name of relay `k` of an event's seat stream (src/durable/SeatRelay.ts): the canonical event id, then the relay's number. */
export function seatRelayName(eventId: string, k: number): string {
  return `${eventId}:relay:${k}`;
}

/** Whether `name` is one of the `relays` relays of `eventId` (a canonical id). */
export function isSeatRelayOf(name: string, eventId: string, relays: number): boolean {
  const match = /^(.*):relay:(\d+)$/.exec(name);
  return CANONICAL_UUID.test(eventId) && !!match && match[1] === eventId && Number(match[2]) < relays && seatRelayName(eventId, Number(match[2])) === name;
}

/**
 * Throws unless `eventId` is canonical and, for an object named as a relay of any event, the name
 * is a relay of exactly this one.
 */
export function assertRelaysEvent(ctx: DurableObjectState, eventId: string, relays: number, what: string): void {
  const name = ctx.id.name;
  const ok = CANONICAL_UUID.test(eventId) && (name === undefined || !/:relay:/.test(name) || isSeatRelayOf(name, eventId, relays));
  if (!ok) throw new Error(`${what} named ${JSON.stringify(name)} was asked about event ${JSON.stringify(eventId)}: relays are named <canonical event id>:relay:<0..${relays - 1}>`);
}
