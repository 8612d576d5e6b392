import { settings, type Bindings } from '../env';
import { testPaymentProvider, type PaymentProvider } from './provider';

export function paymentProviderFor(env: Bindings): PaymentProvider {
  const { paymentProvider } = settings(env);
  if (paymentProvider === 'test') return testPaymentProvider;
  // PAYMENT_PROVIDER=stripe: the Stripe PaymentIntents provider is the next step of the
  // bookings issue; until it exists, refuse rather than pretend to charge.
  throw new Error('PAYMENT_PROVIDER=stripe is not available yet; use PAYMENT_PROVIDER=test');
}
