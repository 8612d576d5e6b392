// Payments behind one small interface. `test` (test-provider.ts) charges nothing and needs no
// network; the `stripe` provider (PaymentIntents) implements the same interface.

export interface ChargeRequest {
  bookingId: string;
  amountCents: number;
  currency: string;
  paymentMethodId: string;
}

export type ChargeResult =
  | { status: 'succeeded'; reference: string }
  /** Not settled yet: the provider's webhook says how it ends. */
  | { status: 'processing'; reference: string }
  | { status: 'declined'; message: string };

export interface PaymentProvider {
  readonly name: string;
  /** Charging the same booking twice must not take the money twice. */
  charge(request: ChargeRequest): Promise<ChargeResult>;
  refund(reference: string, amountCents: number): Promise<void>;
}
