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
