// Stripe's Payment Element, only where the page names a publishable key (PAYMENT_PROVIDER=stripe
// and STRIPE_PUBLISHABLE_KEY): Stripe.js is then loaded from Stripe itself, as Stripe requires, and
// the page's policy allows it on the checkout only. The element makes a PaymentMethod, whose id the
// page sends to POST /api/bookings/:id/pay like a test card's.

interface StripeError {
  message?: string;
}

interface StripeElements {
  create(type: 'payment', options?: Record<string, unknown>): { mount(target: HTMLElement): void };
  submit(): Promise<{ error?: StripeError }>;
}

interface StripeClient {
  elements(options: Record<string, unknown>): StripeElements;
  createPaymentMethod(options: { elements: StripeElements }): Promise<{ paymentMethod?: { id: string }; error?: StripeError }>;
}

const STRIPE_JS = 'https://js.stripe.com/v3/';

function loadStripe(): Promise<(key: string) => StripeClient> {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = STRIPE_JS;
    script.onload = () => {
      const factory = (window as unknown as { Stripe?: (key: string) => StripeClient }).Stripe;
      if (factory) resolve(factory);
      else reject(new Error('Stripe.js did not start'));
    };
    script.onerror = () => reject(new Error('Stripe.js could not be loaded'));
    document.head.append(script);
  });
}

/** Mounts the Payment Element; the function it answers makes a PaymentMethod from what was typed. */
export async function mountPaymentElement(key: string, amountCents: number, currency: string, target: HTMLElement): Promise<() => Promise<{ id?: string; error?: string }>> {
  const stripe = (await loadStripe())(key);
  const elements = stripe.elements({ mode: 'payment', amount: amountCents, currency: currency.toLowerCase(), paymentMethodCreation: 'manual' });
  elements.create('payment').mount(target);
  return async () => {
    const submitted = await elements.submit();
    if (submitted.error) return { error: submitted.error.message ?? 'Please check the card details.' };
    const created = await stripe.createPaymentMethod({ elements });
    if (created.error || !created.paymentMethod) return { error: created.error?.message ?? 'The card could not be used.' };
    return { id: created.paymentMethod.id };
  };
}
