// The single source of the Postgres tables. `npm run db:generate` turns changes here into a
// committed migration under src/db/migrations.
import { sql } from 'drizzle-orm';
import {
  boolean,
  check,
  customType,
  doublePrecision,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  jsonb,
} from 'drizzle-orm/pg-core';

const tsvector = customType<{ data: string }>({ dataType: () => 'tsvector' });

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    email: text('email').notNull(),
    name: text('name').notNull(),
    passwordHash: text('password_hash').notNull(),
    role: text('role', { enum: ['customer', 'admin'] }).notNull().default('customer'),
    createdAt: createdAt(),
  },
  (t) => [
    // Emails are unique whatever their case.
    uniqueIndex('users_email_lower_key').on(sql`lower(${t.email})`),
    check('users_role_check', sql`${t.role} in ('customer', 'admin')`),
  ],
);

/**
 * Signed-in sessions. A session token names its row, and a token is honoured only while the row
 * exists: logging out deletes it, deleting the user deletes them all, and so does a password
 * change (trigger users_password_change_ends_sessions, migration 0006). Rows past expires_at are
 * dead weight that sign-ins of the same user clear away.
 */
export const sessions = pgTable(
  'sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [index('sessions_user_idx').on(t.userId)],
);

/**
 * Login attempts in fixed 15-minute windows, one row per thing counted: an IP, an account from
 * one IP, an account from IPs it does not know (src/auth/throttle.ts). `key` names it.
 */
export const loginThrottle = pgTable(
  'login_throttle',
  {
    key: text('key').primaryKey(),
    failures: integer('failures').notNull().default(0),
    windowStartedAt: timestamp('window_started_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [index('login_throttle_window_idx').on(t.windowStartedAt)],
);

/** Where an account was last signed into successfully: those IPs stay open to it while strangers guess. */
export const loginSources = pgTable(
  'login_sources',
  {
    /** The lower-cased email, as the throttle keys name accounts. */
    account: text('account').notNull(),
    ip: text('ip').notNull(),
    lastSuccessAt: timestamp('last_success_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.account, t.ip] })],
);

export const performers = pgTable('performers', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull(),
  genre: text('genre'),
  bio: text('bio'),
  createdAt: createdAt(),
});

export const venues = pgTable(
  'venues',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    city: text('city').notNull(),
    address: text('address'),
    capacity: integer('capacity').notNull(),
    /** Decimal degrees, both or neither; search's `near=` finds venues by them. */
    latitude: doublePrecision('latitude'),
    longitude: doublePrecision('longitude'),
    createdAt: createdAt(),
  },
  (t) => [
    // A latitude range on this index bounds a `near=` search before the exact distance.
    index('venues_location_idx').on(t.latitude, t.longitude),
    check(
      'venues_location_check',
      sql`(${t.latitude} is null) = (${t.longitude} is null) and (${t.latitude} is null or (${t.latitude} between -90 and 90 and ${t.longitude} between -180 and 180))`,
    ),
  ],
);

export const venueSections = pgTable(
  'venue_sections',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    venueId: uuid('venue_id').notNull().references(() => venues.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    position: integer('position').notNull(),
    /**
     * A standing (general admission) section has `capacity` places and no rows of its own to
     * show: its places are the seats of one hidden row, so every ticket still has a seat and a
     * seat-map position.
     */
    kind: text('kind', { enum: ['seated', 'standing'] }).notNull().default('seated'),
    capacity: integer('capacity'),
  },
  (t) => [
    uniqueIndex('venue_sections_venue_name_key').on(t.venueId, t.name),
    check('venue_sections_kind_check', sql`(${t.kind} = 'seated' and ${t.capacity} is null) or (${t.kind} = 'standing' and ${t.capacity} > 0)`),
  ],
);

export const venueRows = pgTable(
  'venue_rows',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    sectionId: uuid('section_id').notNull().references(() => venueSections.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    position: integer('position').notNull(),
  },
  (t) => [uniqueIndex('venue_rows_section_name_key').on(t.sectionId, t.name)],
);

export const seats = pgTable(
  'seats',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    rowId: uuid('row_id').notNull().references(() => venueRows.id, { onDelete: 'cascade' }),
    number: integer('number').notNull(),
  },
  (t) => [uniqueIndex('seats_row_number_key').on(t.rowId, t.number)],
);

export const eventStatuses = ['draft', 'published', 'cancelled'] as const;

export const events = pgTable(
  'events',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    description: text('description'),
    performerId: uuid('performer_id').notNull().references(() => performers.id),
    venueId: uuid('venue_id').notNull().references(() => venues.id),
    startsAt: timestamp('starts_at', { withTimezone: true, mode: 'date' }).notNull(),
    onSaleAt: timestamp('on_sale_at', { withTimezone: true, mode: 'date' }).notNull(),
    status: text('status', { enum: eventStatuses }).notNull().default('draft'),
    currency: text('currency').notNull().default('USD'),
    /** Section name → price in cents; the tickets carry their own copy. */
    prices: jsonb('prices').$type<Record<string, number>>().notNull(),
    minPriceCents: integer('min_price_cents').notNull(),
    queueEnabled: boolean('queue_enabled').notNull().default(false),
    queueAdmitPerMinute: integer('queue_admit_per_minute').notNull().default(100),
    queueMaxActive: integer('queue_max_active').notNull().default(500),
    /** How long an admission from the waiting room lets a shopper book. */
    queueTokenMinutes: integer('queue_token_minutes').notNull().default(10),
    /** How long before onSaleAt the waiting room's lobby opens. */
    queueLobbyMinutes: integer('queue_lobby_minutes').notNull().default(30),
    /** How long places offered to the waiting list stay held for the person offered them. */
    waitlistOfferMinutes: integer('waitlist_offer_minutes').notNull().default(120),
    /** Weighted text of the event, its performer, venue and city: event_search_document() (migration 0008), kept by src/db/search.ts. */
    searchVector: tsvector('search_vector'),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    index('events_search_vector_idx').using('gin', t.searchVector),
    // Search (src/db/search-retrieval.ts): the keyword in names only (A), in names and place (A, B).
    index('events_search_names_idx').using('gin', sql`ts_filter(${t.searchVector}, '{a}'::"char"[])`),
    index('events_search_place_idx').using('gin', sql`ts_filter(${t.searchVector}, '{a,b}'::"char"[])`),
    // Published events in date order, carrying what search checks (migration 0008 adds
    // INCLUDE (search_vector, venue_id, performer_id, on_sale_at), which drizzle cannot say):
    // a walk along it reads index pages only.
    index('events_search_walk_idx').on(t.startsAt, t.id).where(sql`${t.status} = 'published'`),
    index('events_search_name_idx').on(sql`lower(${t.name})`, t.id).where(sql`${t.status} = 'published'`),
    index('events_status_starts_at_idx').on(t.status, t.startsAt),
    index('events_performer_idx').on(t.performerId),
    index('events_venue_idx').on(t.venueId),
    check('events_status_check', sql`${t.status} in ('draft', 'published', 'cancelled')`),
  ],
);

/**
 * Every distinct word of the searchable text, so a misspelt query word can be corrected to
 * words that exist (pg_trgm similarity) before the full-text search runs.
 */
export const searchTerms = pgTable(
  'search_terms',
  { term: text('term').primaryKey() },
  (t) => [index('search_terms_trgm_idx').using('gin', t.term.op('gin_trgm_ops'))],
);

export const ticketStatuses = ['available', 'sold'] as const;

/** One per seat of an event. Holds live in the event's TicketLock, never here. */
export const tickets = pgTable(
  'tickets',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    eventId: uuid('event_id').notNull().references(() => events.id, { onDelete: 'cascade' }),
    seatId: uuid('seat_id').notNull().references(() => seats.id),
    section: text('section').notNull(),
    /** Null for a place in a standing section. */
    row: text('row'),
    seat: integer('seat'),
    /** Seat-map order within the event (section, row, seat). */
    position: integer('position').notNull(),
    priceCents: integer('price_cents').notNull(),
    currency: text('currency').notNull(),
    status: text('status', { enum: ticketStatuses }).notNull().default('available'),
    bookingId: text('booking_id'),
  },
  (t) => [
    uniqueIndex('tickets_event_seat_key').on(t.eventId, t.seatId),
    index('tickets_event_position_idx').on(t.eventId, t.position),
    index('tickets_booking_idx').on(t.bookingId),
    // Search's onSale=true asks whether an event has a ticket left.
    index('tickets_available_idx').on(t.eventId).where(sql`${t.status} = 'available'`),
    check('tickets_status_check', sql`${t.status} in ('available', 'sold')`),
    check('tickets_sold_has_booking', sql`(${t.status} = 'sold') = (${t.bookingId} is not null)`),
  ],
);

/** `transferred`: every ticket moved to other accounts (POST /api/bookings/:id/transfer). */
export const bookingStatuses = ['confirmed', 'cancelled', 'refunded', 'transferred'] as const;

/** Confirmed bookings; pending ones are holds in the event's TicketLock. */
export const bookings = pgTable(
  'bookings',
  {
    /** Made by the event's TicketLock; names the event, so a booking leads to its TicketLock. */
    id: text('id').primaryKey(),
    userId: uuid('user_id').notNull().references(() => users.id),
    eventId: uuid('event_id').notNull().references(() => events.id),
    status: text('status', { enum: bookingStatuses }).notNull(),
    totalCents: integer('total_cents').notNull(),
    currency: text('currency').notNull(),
    paymentProvider: text('payment_provider').notNull(),
    paymentReference: text('payment_reference'),
    confirmedAt: timestamp('confirmed_at', { withTimezone: true, mode: 'date' }).notNull(),
    /** Money owed back to the buyer (an organizer's refund, a cancelled event) until the provider gives it back. */
    refundPendingCents: integer('refund_pending_cents').notNull().default(0),
    /** Money the provider has given back. */
    refundedCents: integer('refunded_cents').notNull().default(0),
    refundedAt: timestamp('refunded_at', { withTimezone: true, mode: 'date' }),
    /** The booking these tickets were transferred out of; such a booking cost its owner nothing. */
    transferredFrom: text('transferred_from'),
    createdAt: createdAt(),
  },
  (t) => [
    index('bookings_user_created_idx').on(t.userId, t.createdAt),
    index('bookings_event_idx').on(t.eventId),
    index('bookings_refund_pending_idx').on(t.eventId, t.id).where(sql`${t.refundPendingCents} > 0`),
  ],
);

export const bookingTickets = pgTable(
  'booking_tickets',
  {
    bookingId: text('booking_id').notNull().references(() => bookings.id),
    ticketId: uuid('ticket_id').notNull().references(() => tickets.id),
    priceCents: integer('price_cents').notNull(),
    admittedAt: timestamp('admitted_at', { withTimezone: true, mode: 'date' }),
    /**
     * When the ticket left this booking: refunded with its seat put back on sale, or transferred
     * to another account. Its code then scans invalid.
     */
    releasedAt: timestamp('released_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    primaryKey({ columns: [t.bookingId, t.ticketId] }),
    // The last guard of invariant 1: a ticket belongs to at most one booking that holds it,
    // whatever any Durable Object believed.
    uniqueIndex('booking_tickets_live_ticket_key').on(t.ticketId).where(sql`${t.releasedAt} is null`),
    index('booking_tickets_ticket_idx').on(t.ticketId),
  ],
);

/**
 * Who waits for an event's places (API.md, waiting list). The event's TicketLock decides offers
 * and keeps the line; these rows let a user's entries be listed across events.
 */
export const waitlistEntries = pgTable(
  'waitlist_entries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    eventId: uuid('event_id').notNull().references(() => events.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    quantity: integer('quantity').notNull(),
    section: text('section'),
    createdAt: createdAt(),
  },
  (t) => [index('waitlist_entries_user_idx').on(t.userId, t.createdAt), index('waitlist_entries_event_idx').on(t.eventId)],
);

export const notificationKinds = ['booking_confirmed', 'waitlist_offer', 'event_cancelled', 'booking_refunded', 'tickets_transferred', 'tickets_received'] as const;

/**
 * The outbox: what a person is to be told, written in the same transaction as what caused it,
 * then sent by src/notifications (retried until the provider takes it). `dedupeKey` makes a
 * cause that runs twice (a retried confirmation) tell once.
 */
export const notifications = pgTable(
  'notifications',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    dedupeKey: text('dedupe_key').notNull(),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'set null' }),
    toEmail: text('to_email').notNull(),
    kind: text('kind', { enum: notificationKinds }).notNull(),
    subject: text('subject').notNull(),
    body: text('body').notNull(),
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
    createdAt: createdAt(),
    sentAt: timestamp('sent_at', { withTimezone: true, mode: 'date' }),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    lastError: text('last_error'),
  },
  (t) => [
    uniqueIndex('notifications_dedupe_key').on(t.dedupeKey),
    index('notifications_due_idx').on(t.nextAttemptAt).where(sql`${t.sentAt} is null`),
    index('notifications_created_idx').on(t.createdAt),
  ],
);
