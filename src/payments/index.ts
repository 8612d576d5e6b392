import { settings, type Bindings } from '../env';
import { ApiError } from '../errors';
import type { PaymentProvider } from './provider';
import { testPaymentProvider } from './test-provider';
import { stripePaymentProvider } from './stripe';

const RETRY_AFTER_SECONDS = 300;

/** A server that cannot take money says so, rather than pretending to charge. */
function paymentsUnavailable(why: string): ApiError {
  console.error(`payments refused: ${why}`);
  return new ApiError(503, 'unavailable', 'Payments are not available right now. Your seats are not sold; please try again later.', undefined, {
    'Retry-After': String(RETRY_AFTER_SECONDS),
  });
}

/**
 * The provider that charges for bookings. The offline `test` provider confirms bookings for
 * nothing (and holds seats 30 minutes for `pm_card_processing`), and wrangler.toml's deployed
 * vars name it as the default, so it answers only where the environment explicitly allows it:
 * ALLOW_TEST_PAYMENTS=true, which `npm run dev`, the tests and the local runtime set and a
 * deployment does not. Call this before holding or charging anything, so a refusal changes nothing.
 */
export function paymentProviderFor(env: Bindings): PaymentProvider {
  const { paymentProvider } = settings(env);
  if (paymentProvider === 'test') {
    if (env.ALLOW_TEST_PAYMENTS !== 'true') throw paymentsUnavailable('PAYMENT_PROVIDER=test on a server without ALLOW_TEST_PAYMENTS=true (set PAYMENT_PROVIDER=stripe and its keys)');
    return testPaymentProvider;
  }
  if (!env.STRIPE_SECRET_KEY) throw paymentsUnavailable('PAYMENT_PROVIDER=stripe needs STRIPE_SECRET_KEY (wrangler secret put STRIPE_SECRET_KEY, or .dev.vars locally)');
  return stripePaymentProvider({ secretKey: env.STRIPE_SECRET_KEY, apiBase: env.STRIPE_API_BASE });
}
