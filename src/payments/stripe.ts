import Stripe from 'stripe';
import type { ChargeResult, PaymentProvider } from './provider';

/** What a PaymentIntent's state means for the booking it pays for. */
export function chargeResultOf(intent: Pick<Stripe.PaymentIntent, 'id' | 'status' | 'last_payment_error'>): ChargeResult {
  switch (intent.status) {
    case 'succeeded':
      return { status: 'succeeded', reference: intent.id };
    case 'processing':
      return { status: 'processing', reference: intent.id };
    case 'requires_payment_method':
      return { status: 'declined', message: intent.last_payment_error?.message ?? 'Your card was declined.' };
    case 'requires_action':
      // Redirects are off, so a card that insists on 3-D Secure cannot finish here.
      return { status: 'declined', message: 'This card needs an extra authentication step this checkout cannot do. Try another card.' };
    default:
      // Manual capture and cancellation are never asked for; money in such a state needs a person.
      throw new Error(`PaymentIntent ${intent.id} is in the unexpected state "${intent.status}"`);
  }
}

/** A refused card or an unknown payment method is the buyer's to fix (402); any other error is ours. */
export function declineOf(error: unknown): ChargeResult | null {
  if (error instanceof Stripe.errors.StripeCardError) return { status: 'declined', message: error.message };
  if (error instanceof Stripe.errors.StripeInvalidRequestError && error.param === 'payment_method') {
    return { status: 'declined', message: error.message };
  }
  return null;
}

/** Stripe itself, or the local stand-in that STRIPE_API_BASE names for development and tests. */
export function apiAddress(apiBase: string | undefined): Pick<Stripe.StripeConfig, 'host' | 'port' | 'protocol'> {
  if (!apiBase) return {};
  const url = URL.canParse(apiBase) ? new URL(apiBase) : null;
  const protocol = url?.protocol.slice(0, -1);
  if (!url || (protocol !== 'http' && protocol !== 'https')) throw new Error(`STRIPE_API_BASE must be an http(s) URL, got "${apiBase}"`);
  // The SDK's default port is 443 whatever the protocol.
  return { host: url.hostname, port: url.port || (protocol === 'https' ? 443 : 80), protocol };
}

export function stripePaymentProvider(options: { secretKey: string; apiBase?: string }): PaymentProvider {
  const stripe = new Stripe(options.secretKey, { httpClient: Stripe.createFetchHttpClient(), ...apiAddress(options.apiBase) });
  return {
    name: 'stripe',
    async charge(request) {
      // One PaymentIntent per payment attempt, so every webhook names the attempt it is about (its
      // intent, and the attempt in its metadata): a late report of an earlier card cannot settle a
      // later one. Creation is idempotent on the attempt and carries no card, because Stripe refuses
      // a key reused with other parameters; charging the same attempt again finds the intent already
      // paid or settling and stops there.
      const intent = await stripe.paymentIntents.create(
        {
          amount: request.amountCents,
          currency: request.currency.toLowerCase(),
          automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
          metadata: { bookingId: request.bookingId, attemptId: request.attemptId },
        },
        { idempotencyKey: `payment-attempt:${request.attemptId}` },
      );
      if (intent.status === 'succeeded' || intent.status === 'processing') return chargeResultOf(intent);
      try {
        const result = chargeResultOf(await stripe.paymentIntents.confirm(intent.id, { payment_method: request.paymentMethodId }));
        return result.status === 'declined' ? { ...result, reference: intent.id } : result;
      } catch (error) {
        const declined = declineOf(error);
        if (declined) return { ...declined, reference: intent.id };
        throw error;
      }
    },
    async refund(reference, amountCents) {
      // The client and a webhook can both find the seats gone; the second refund must be the first one.
      await stripe.refunds.create({ payment_intent: reference, amount: amountCents }, { idempotencyKey: `refund:${reference}` });
    },
  };
}
