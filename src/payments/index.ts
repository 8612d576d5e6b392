import { settings, type Bindings } from '../env';
import { testPaymentProvider, type PaymentProvider } from './provider';
import { stripePaymentProvider } from './stripe';

export function paymentProviderFor(env: Bindings): PaymentProvider {
  const { paymentProvider } = settings(env);
  if (paymentProvider === 'test') return testPaymentProvider;
  // Refuse rather than pretend to charge.
  if (!env.STRIPE_SECRET_KEY) throw new Error('PAYMENT_PROVIDER=stripe needs STRIPE_SECRET_KEY (wrangler secret put STRIPE_SECRET_KEY, or .dev.vars locally)');
  return stripePaymentProvider({ secretKey: env.STRIPE_SECRET_KEY, apiBase: env.STRIPE_API_BASE });
}
