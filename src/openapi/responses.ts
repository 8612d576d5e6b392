// What the API answers, as zod schemas: src/openapi/document.ts turns them into the OpenAPI
// document's response schemas, and the authorization matrix test parses real answers with them,
// so a response that drifts from its description fails a test. A leaf module: it imports nothing
// of the app, so any file may use it.
import { z } from 'zod';

const id = z.string().describe('An opaque id (a lower-case UUID for everything but bookings).');
const isoTime = z.string().describe('ISO 8601 date-time in UTC.');
const cents = z.number().int();
const currency = z.string().describe('ISO 4217 code, e.g. USD.');

export const errorCodes = [
  'validation_failed',
  'unauthenticated',
  'invalid_credentials',
  'forbidden',
  'queue_required',
  'not_found',
  'email_taken',
  'tickets_unavailable',
  'tickets_available',
  'booking_not_pending',
  'ticket_limit',
  'hold_expired',
  'payload_too_large',
  'upgrade_required',
  'payment_declined',
  'rate_limited',
  'idempotency_key_reused',
  'idempotency_in_progress',
  'unavailable',
  'internal',
] as const;

export const errorResponse = z.object({
    error: z.object({
      // Open to codes added later: clients branch on the ones they know.
      code: z.string().regex(/^[a-z]+(_[a-z]+)*$/).describe(`snake_case; one of ${errorCodes.join(', ')} (or a later addition)`),
      message: z.string().min(1).describe('Text a person can read; never a stack trace or SQL.'),
      details: z.unknown().optional().describe('For validation: a list of { field, message }.'),
    }),
  });

export const userJson = z.object({ id, email: z.string(), name: z.string(), role: z.enum(['customer', 'admin']) });

export const sessionResponse = z.object({ user: userJson, token: z.string().describe('Send as `Authorization: Bearer <token>`.') });
export const meResponse = z.object({ user: userJson });

export const healthResponse = z.object({ ok: z.boolean(), db: z.enum(['ok', 'down']) });

export const queueSettingsJson = z.object({
  enabled: z.boolean(),
  admitPerMinute: z.number().int(),
  maxActive: z.number().int(),
  tokenMinutes: z.number().int(),
  lobbyMinutes: z.number().int(),
});

export const eventJson = z
  .object({
    id,
    name: z.string(),
    description: z.string().nullable(),
    startsAt: isoTime,
    onSaleAt: isoTime,
    status: z.enum(['draft', 'published', 'cancelled']),
    performerId: id,
    venueId: id,
    currency,
    prices: z.record(z.string(), cents),
    queue: queueSettingsJson,
    waitlistOfferMinutes: z.number().int().describe('How long places offered to the waiting list stay held.'),
  });

export const venueJson = z
  .object({ id, name: z.string(), city: z.string(), address: z.string().nullable(), capacity: z.number().int() })
  ;

export const performerJson = z.object({ id, name: z.string(), genre: z.string().nullable() });

export const eventView = z.object({
  event: eventJson,
  venue: venueJson,
  performer: performerJson,
  // Absent with ?tickets=none (the README's API additions).
  tickets: z.array(
    z.object({
      id,
      section: z.string(),
      row: z.string().nullable(),
      seat: z.number().int().nullable(),
      priceCents: cents,
      currency,
      status: z.enum(['available', 'reserved', 'booked']),
    }),
  ).optional(),
});

export const seatmapResponse = z.object({
  eventId: id,
  version: z.string().describe('A hash of the layout and prices; GET …/seatmap?v=<version> is immutable.'),
  currency,
  seatCount: z.number().int(),
  sections: z.array(
    z.union([
      z.object({
        name: z.string(),
        kind: z.literal('seated'),
        priceCents: cents,
        rows: z.array(z.object({ name: z.string(), seats: z.number().int().describe('Seats in the row, numbered from 1.') })),
      }),
      z
        .object({ name: z.string(), kind: z.literal('standing'), capacity: z.number().int().describe('Places: the next `capacity` seat indexes.'), priceCents: cents })
        .describe('General admission: places without row or seat, taken with `best`.'),
    ]),
  ),
});

export const availabilityResponse = z.object({
  eventId: id,
  version: z.number().int().describe('The seat status version (grows with every change).'),
  seatmapVersion: z.string(),
  seatCount: z.number().int(),
  statuses: z
    .string()
    .describe('Standard base64 of 2 bits per seat: seat i is bits 2*(i%4)…2*(i%4)+1 of byte floor(i/4), low bits first; 0 available, 1 reserved, 2 booked, 3 not for sale.'),
});

export const searchResponse = z.object({
  events: z.array(
    z.object({
      id,
      name: z.string(),
      startsAt: isoTime,
      status: z.enum(['draft', 'published', 'cancelled']),
      venue: z.object({ id, name: z.string(), city: z.string() }),
      performer: z.object({ id, name: z.string() }),
      minPriceCents: cents.nullable(),
      currency,
      distanceKm: z.number().optional().describe('From `near`, when the query has it.'),
    }),
  ),
  page: z.number().int(),
  pageSize: z.number().int(),
  total: z.number().int(),
  totalExact: z.literal(false).optional().describe('Present when `total` and the facet counts are estimates (a common word: the matches were not all counted).'),
  didYouMean: z.string().optional().describe('The keyword with its misspelt words corrected, when it matched only through corrections.'),
  facets: z
    .object({
      city: z.array(z.object({ value: z.string(), count: z.number().int() })).optional(),
      genre: z.array(z.object({ value: z.string(), count: z.number().int() })).optional(),
    })
    .optional()
    .describe('With `facets=`: the matching events counted by each value, the most frequent first.'),
});

export const bookingJson = z
  .object({
    bookingId: id,
    status: z.enum(['pending', 'confirmed', 'cancelled', 'expired', 'refunded', 'transferred']).describe('`transferred`: every ticket of it moved to other accounts.'),
    eventId: id,
    ticketIds: z.array(id),
    seats: z.array(z.number().int()).optional(),
    tickets: z.array(
      z.object({
        id,
        section: z.string().nullable(),
        row: z.string().nullable(),
        seat: z.number().int().nullable(),
        priceCents: cents.nullable(),
        code: z.string().nullable().describe('The ticket\'s signed QR text, on a confirmed booking; null otherwise.'),
      }),
    ),
    totalCents: cents,
    currency,
    expiresAt: isoTime.nullable(),
    confirmedAt: isoTime.nullable(),
    refunded: z.boolean(),
  });

export const myBookingsResponse = z.object({ bookings: z.array(bookingJson) });

export const transferResponse = z.object({ booking: bookingJson.describe("The recipient's new booking: confirmed, totalCents 0, new codes.") });

export const rotatingCodeResponse = z.object({ code: z.string(), rotating: z.string(), validForSeconds: z.number().int() });

export const queueStatusResponse = z
  .object({
    state: z.enum(['none', 'off', 'waiting', 'admitted', 'closed', 'sold_out']),
    position: z.number().int().nullable(),
    ahead: z.number().int().nullable(),
    etaSeconds: z.number().int().nullable(),
    token: z.string().nullable(),
    expiresAt: isoTime.nullable(),
    lobby: z.boolean().optional(),
    onSaleAt: isoTime.optional(),
    seedHash: z.string().optional(),
    opensAt: isoTime.optional(),
  });

export const socketTicketResponse = z.object({ ticket: z.string(), expiresAt: isoTime });

export const fairnessResponse = z.object({
  eventId: id,
  lobbyOpensAt: isoTime,
  onSaleAt: isoTime,
  seedHash: z.string().nullable(),
  seed: z.string().nullable(),
  draw: z.array(z.string()).nullable(),
  recipe: z.string(),
});

export const performerCreated = z.object({ performer: performerJson.extend({ bio: z.string().nullable() }) });
export const venueCreated = z.object({
  venue: venueJson.extend({
    latitude: z.number().nullable(),
    longitude: z.number().nullable(),
    sections: z.array(z.looseObject({ name: z.string() })),
  }),
});
export const eventCreated = z.object({ event: eventJson, ticketCount: z.number().int() });
export const eventUpdated = z.object({ event: eventJson });

export const salesResponse = z.object({
  sold: z.number().int(),
  held: z.number().int(),
  available: z.number().int(),
  revenueCents: cents.describe('Net of refunds: paid for the event\'s bookings, less what was refunded or is owed back.'),
  refundedCents: cents.describe('Given back by the payment provider.'),
  refundsPending: z.number().int().describe('Bookings whose refund is owed and not yet given back.'),
  currency,
  history: z
    .array(
      z.object({
        at: isoTime.describe('Start of the bucket (UTC): a whole hour, or a whole day (or several) when the sale has gone on for more than 199 hours.'),
        sold: z.number().int().describe('Tickets sold up to the end of the bucket, cumulative.'),
        revenueCents: cents.describe('What those sales were paid up to the end of the bucket, cumulative; refunds are not taken off.'),
      }),
    )
    .max(200)
    .describe('Sales over time from the bookings\' confirmation times, oldest first; only buckets with sales (at most 200). A transfer is not a sale.'),
});

export const eventCancelledResponse = z.object({
  event: eventJson,
  refunds: z.object({ bookings: z.number().int(), amountCents: cents }).describe('What this call made owed (0 and 0 when the event was cancelled already).'),
});

export const scanResponse = z.object({
  result: z.enum(['admitted', 'already_admitted', 'invalid']),
  ticket: z.object({ id, section: z.string(), row: z.string().nullable(), seat: z.number().int().nullable() }).nullable(),
  eventId: id.nullable(),
  admittedAt: isoTime.nullable(),
});

export const outboxResponse = z.object({
  notifications: z.array(
    z.object({
      id,
      kind: z.enum(['booking_confirmed', 'waitlist_offer', 'event_cancelled', 'booking_refunded', 'tickets_transferred', 'tickets_received']),
      to: z.string(),
      userId: id.nullable(),
      subject: z.string(),
      body: z.string(),
      data: z.record(z.string(), z.unknown()),
      createdAt: isoTime,
      sentAt: isoTime.nullable().describe('When the provider took it; with NOTIFICATION_PROVIDER=outbox, when it was marked sent.'),
      attempts: z.number().int(),
      lastError: z.string().nullable(),
    }),
  ),
});

export const waitlistEntryJson = z.object({
  id,
  eventId: id,
  quantity: z.number().int(),
  section: z.string().nullable(),
  position: z.number().int().nullable().describe('1 for the first one waiting; null unless waiting.'),
  status: z.enum(['waiting', 'offered', 'accepted', 'expired', 'left']),
  offer: z.object({ bookingId: id, expiresAt: isoTime }).nullable().describe('The pending booking holding the places offered: pay it with POST /api/bookings/{bookingId}/pay before expiresAt.'),
});
export const waitlistEntryResponse = z.object({ entry: waitlistEntryJson });
export const myWaitlistResponse = z.object({ entries: z.array(waitlistEntryJson) });

export const webhookResponse = z.object({ received: z.literal(true) });
