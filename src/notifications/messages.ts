// What each notification says. Pure: the outbox stores the words with the data they came from.
import type { notificationKinds } from '../db/schema';

export type NotificationKind = (typeof notificationKinds)[number];

export interface NotificationMessage {
  kind: NotificationKind;
  subject: string;
  body: string;
  data: Record<string, unknown>;
}

const money = (cents: number, currency: string) => `${(cents / 100).toFixed(2)} ${currency}`;

export function bookingConfirmedMessage(input: { bookingId: string; eventId: string; eventName: string; ticketCount: number; totalCents: number; currency: string }): NotificationMessage {
  return {
    kind: 'booking_confirmed',
    subject: `Your tickets for ${input.eventName}`,
    body: `Booking ${input.bookingId} is confirmed: ${input.ticketCount} ticket(s), ${money(input.totalCents, input.currency)}. Your tickets and their QR codes are under "My tickets".`,
    data: input,
  };
}

export function waitlistOfferMessage(input: { eventId: string; eventName: string; bookingId: string; quantity: number; expiresAt: string }): NotificationMessage {
  return {
    kind: 'waitlist_offer',
    subject: `Tickets are waiting for you: ${input.eventName}`,
    body: `${input.quantity} place(s) for ${input.eventName} are held for you until ${input.expiresAt}. Pay booking ${input.bookingId} before then to keep them; after that they go to the next person waiting.`,
    data: input,
  };
}

export function eventCancelledMessage(input: { eventId: string; eventName: string; bookingId: string; refundCents: number; currency: string }): NotificationMessage {
  return {
    kind: 'event_cancelled',
    subject: `Cancelled: ${input.eventName}`,
    body: `${input.eventName} has been cancelled. Your tickets of booking ${input.bookingId} are no longer valid and ${money(input.refundCents, input.currency)} is being refunded to you.`,
    data: input,
  };
}

export function bookingRefundedMessage(input: { eventId: string; eventName: string; bookingId: string; refundCents: number; currency: string }): NotificationMessage {
  return {
    kind: 'booking_refunded',
    subject: `Refund for ${input.eventName}`,
    body: `Booking ${input.bookingId} has been refunded: ${money(input.refundCents, input.currency)} is on its way back to you. Its tickets are no longer valid.`,
    data: input,
  };
}

export function ticketsTransferredMessage(input: { eventId: string; eventName: string; fromBookingId: string; toBookingId: string; ticketCount: number; recipientEmail: string }): NotificationMessage {
  return {
    kind: 'tickets_transferred',
    subject: `You sent ${input.ticketCount} ticket(s) for ${input.eventName}`,
    body: `${input.ticketCount} ticket(s) of booking ${input.fromBookingId} now belong to ${input.recipientEmail}. Their old codes no longer admit anyone.`,
    data: input,
  };
}

export function ticketsReceivedMessage(input: { eventId: string; eventName: string; bookingId: string; ticketCount: number; senderName: string }): NotificationMessage {
  return {
    kind: 'tickets_received',
    subject: `${input.senderName} sent you ${input.ticketCount} ticket(s) for ${input.eventName}`,
    body: `Booking ${input.bookingId} is yours: the tickets and their QR codes are under "My tickets".`,
    data: input,
  };
}
