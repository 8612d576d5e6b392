import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import type { AppEnv } from '../env';
import { forbidden } from '../errors';
import { SESSION_COOKIE } from '../auth/session';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A WebSocket handshake is a GET, but it joins the waiting room; another site's page may open one too. */
function changesState(c: Context<AppEnv>): boolean {
  return !SAFE_METHODS.has(c.req.method) || c.req.header('Upgrade')?.toLowerCase() === 'websocket';
}

/** The browser attaches the cookie; it never attaches a Bearer token (which then wins, see src/auth/session.ts). */
function cookieBorne(c: Context<AppEnv>): boolean {
  if (c.req.header('Authorization')?.startsWith('Bearer ')) return false;
  return getCookie(c, SESSION_COOKIE) !== undefined;
}

/**
 * Sec-Fetch-Site is set by the browser, never by a page, so when it is there it decides (a page of
 * ours under `Referrer-Policy: no-referrer` sends its own site `Origin: null`); `same-site` is
 * refused, a sibling subdomain is not this site. Without it the Origin must be ours: every current
 * browser sends one on an unsafe request, so a request with neither is not from our pages.
 */
function fromOwnPages(c: Context<AppEnv>): boolean {
  const site = c.req.header('Sec-Fetch-Site');
  if (site !== undefined) return site === 'same-origin' || site === 'none';
  return c.req.header('Origin') === new URL(c.req.url).origin;
}

/**
 * Any site can make a browser send our session cookie with a form or a fetch, so a state change
 * the cookie authenticates must come from our own pages. Bearer-authenticated clients and the
 * Stripe webhook (no cookie, a signature) are not cookie-borne and pass.
 */
export const refuseCrossSiteCookieWrites: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (changesState(c) && cookieBorne(c) && !fromOwnPages(c)) {
    throw forbidden('A change signed in by the session cookie must come from this site\'s own pages; other clients send Authorization: Bearer.');
  }
  await next();
};
