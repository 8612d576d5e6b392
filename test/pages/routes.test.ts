// The pages' documents and assets (src/pages/routes.ts), asked of the sub-app directly so each
// case can give its own settings: Stripe.js is allowed, and named, only on the checkout and only
// with PAYMENT_PROVIDER=stripe and a publishable key.
import { describe, expect, it } from 'vitest';
import { pageRoutes } from '../../src/pages/routes';
import { ASSET_PATHS } from '../../src/pages/assets.generated';
import { api } from '../helpers';

const base = { PAYMENT_PROVIDER: 'test', MAX_TICKETS_PER_USER: '6' };
const get = (path: string, env: Record<string, string> = base) => pageRoutes.request(path, {}, env);

describe('pages', () => {
  it('name the hashed script and stylesheet, which are immutable; other asset names are 404', async () => {
    const home = await get('/');
    expect(home.status).toBe(200);
    expect(home.headers.get('Cache-Control')).toBe('no-cache');
    const text = await home.text();
    expect(text).toContain(`<script type="module" src="${ASSET_PATHS.script}"></script>`);
    expect(text).toContain(`href="${ASSET_PATHS.style}"`);
    for (const path of [ASSET_PATHS.script, ASSET_PATHS.style]) {
      const asset = await get(path);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('Cache-Control')).toBe('public, max-age=31536000, immutable');
    }
    // Through the whole Worker, whose error handler answers the JSON 404.
    expect((await api('/assets/app.000000000000.js')).status).toBe(404);
  });

  it('give the event page the per-account limit, and refuse an id that is not one', async () => {
    const id = '0b6f1c2e-8a44-4f3e-9d52-1f2e3d4c5b6a';
    expect(await (await get(`/events/${id}`)).text()).toContain(`data-event-id="${id}" data-max-tickets="6"`);
    expect((await api('/events/not-an-id')).status).toBe(404);
  });

  it('allow Stripe.js on the checkout only with the stripe provider and a publishable key', async () => {
    const plain = await get('/checkout/abc');
    expect(plain.headers.get('Content-Security-Policy')).not.toContain('stripe');
    expect(await plain.text()).not.toContain('data-stripe-key');

    const keyOnly = await get('/checkout/abc', { ...base, STRIPE_PUBLISHABLE_KEY: 'pk_test_abc123' });
    expect(keyOnly.headers.get('Content-Security-Policy')).not.toContain('stripe');

    const stripe = { ...base, PAYMENT_PROVIDER: 'stripe', STRIPE_PUBLISHABLE_KEY: 'pk_test_abc123' };
    const checkout = await get('/checkout/abc', stripe);
    const policy = checkout.headers.get('Content-Security-Policy')!;
    expect(policy).toContain("script-src 'self' https://js.stripe.com");
    expect(policy).toContain('frame-src https://js.stripe.com https://hooks.stripe.com');
    expect(policy).not.toContain('unsafe-inline');
    expect(await checkout.text()).toContain('data-stripe-key="pk_test_abc123"');
    // Every other page keeps the strict policy.
    expect((await get('/', stripe)).headers.get('Content-Security-Policy')).not.toContain('stripe');
    // A key that is not one is ignored.
    const odd = await get('/checkout/abc', { ...stripe, STRIPE_PUBLISHABLE_KEY: 'pk_test_"><script>' });
    expect(odd.headers.get('Content-Security-Policy')).not.toContain('stripe');
  });
});
