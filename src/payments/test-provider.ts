// The offline provider of API.md (`PAYMENT_PROVIDER=test`): no network and no money. It keeps the
// record a bank statement would show, charges and refunds, newest last, for `npm run dev` and the
// tests to read.
import type { ChargeResult, PaymentProvider } from './provider';

export interface TestCharge {
  reference: string;
  bookingId: string;
  attemptId: string;
  amountCents: number;
  currency: string;
  paymentMethodId: string;
  status: ChargeResult['status'];
}

export interface TestRefund {
  reference: string;
  amountCents: number;
}

const DECLINING_METHODS: Record<string, string> = {
  pm_card_chargeDeclined: 'Your card was declined.',
  pm_card_insufficientFunds: 'Your card has insufficient funds.',
};

/** A payment that settles later, through the webhook. */
const PROCESSING_METHOD = 'pm_card_processing';
/** Charged at once; the first request to refund it fails, as when the provider cannot be reached. */
const REFUND_FAILS_ONCE_METHOD = 'pm_card_refundFailsOnce';

/** Older entries are dropped: the record is for looking at, not an account. */
const RECORD_LIMIT = 10_000;

export const testPaymentRecord = {
  charges: [] as TestCharge[],
  refunds: [] as TestRefund[],
  /** Refund requests the provider refused. */
  refusedRefunds: [] as TestRefund[],
};

function keep<T>(list: T[], entry: T): void {
  list.push(entry);
  if (list.length > RECORD_LIMIT) list.splice(0, list.length - RECORD_LIMIT);
}

/** Every `pm_card_*` succeeds except the declining ones and `pm_card_processing`; anything else is declined. */
export const testPaymentProvider: PaymentProvider = {
  name: 'test',
  async charge(request) {
    const reference = `test_${request.attemptId}`;
    const declined = DECLINING_METHODS[request.paymentMethodId] ?? (request.paymentMethodId.startsWith('pm_card_') ? null : 'Unknown payment method.');
    const result: ChargeResult = declined
      ? { status: 'declined', message: declined }
      : { status: request.paymentMethodId === PROCESSING_METHOD ? 'processing' : 'succeeded', reference };
    keep(testPaymentRecord.charges, { reference, bookingId: request.bookingId, attemptId: request.attemptId, amountCents: request.amountCents, currency: request.currency, paymentMethodId: request.paymentMethodId, status: result.status });
    return result;
  },
  async refund(reference, amountCents) {
    // Like Stripe's refund under the idempotency key `refund:<reference>`: a payment is given back once.
    if (testPaymentRecord.refunds.some((refund) => refund.reference === reference)) return;
    const charge = testPaymentRecord.charges.findLast((entry) => entry.reference === reference);
    if (charge?.paymentMethodId === REFUND_FAILS_ONCE_METHOD && !testPaymentRecord.refusedRefunds.some((refund) => refund.reference === reference)) {
      keep(testPaymentRecord.refusedRefunds, { reference, amountCents });
      throw new Error(`the test provider refused to refund ${reference} (${REFUND_FAILS_ONCE_METHOD})`);
    }
    keep(testPaymentRecord.refunds, { reference, amountCents });
  },
};
