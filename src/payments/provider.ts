// Payments behind one small interface. `test` charges nothing and needs no network; the
// `stripe` provider (PaymentIntents) implements the same interface.

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

const DECLINING_TEST_METHODS: Record<string, string> = {
  pm_card_chargeDeclined: 'Your card was declined.',
  pm_card_insufficientFunds: 'Your card has insufficient funds.',
};

/** Lets tests walk the path of a payment that settles later, through the webhook. */
const PROCESSING_TEST_METHOD = 'pm_card_processing';

/** The offline provider of API.md: every `pm_card_*` succeeds except the declining ones and `pm_card_processing`. */
export const testPaymentProvider: PaymentProvider = {
  name: 'test',
  async charge(request) {
    const declined = DECLINING_TEST_METHODS[request.paymentMethodId];
    if (declined) return { status: 'declined', message: declined };
    if (request.paymentMethodId === PROCESSING_TEST_METHOD) return { status: 'processing', reference: `test_${request.bookingId}` };
    if (!request.paymentMethodId.startsWith('pm_card_')) return { status: 'declined', message: 'Unknown payment method.' };
    return { status: 'succeeded', reference: `test_${request.bookingId}` };
  },
  async refund() {},
};
