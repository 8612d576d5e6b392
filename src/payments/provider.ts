// Payments behind one small interface. `test` (test-provider.ts) charges nothing and needs no
// network; the `stripe` provider (PaymentIntents) implements the same interface.

export interface ChargeRequest {
  bookingId: string;
  /** One charge per payment attempt of the booking (the TicketLock names it); the provider's reports name it back. */
  attemptId: string;
  amountCents: number;
  currency: string;
  paymentMethodId: string;
}

export type ChargeResult =
  | { status: 'succeeded'; reference: string }
  /** Not settled yet: the provider's webhook says how it ends. */
  | { status: 'processing'; reference: string }
  /** `reference`: the declined charge's, when the provider made one (a PaymentIntent left unpaid). */
  | { status: 'declined'; message: string; reference?: string };

export interface PaymentProvider {
  readonly name: string;
  /** Charging the same attempt twice must not take the money twice. */
  charge(request: ChargeRequest): Promise<ChargeResult>;
  refund(reference: string, amountCents: number): Promise<void>;
}
