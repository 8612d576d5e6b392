// The box office in a browser (issue 11): pages the Worker renders with Hono's html helper, each a
// small document of labelled forms and empty regions that the one client script (web/src, built by
// scripts/build-web.ts) fills from the public JSON API, the same API any other client uses. The
// script and the stylesheet are served from /assets/<name>.<hash>.<ext>, cached immutable; pages
// themselves are revalidated, so a deploy shows at once. Every page carries a Content-Security-Policy
// that allows scripts, styles and connections from this origin only: no inline script, no CDN.
import { Hono, type Context } from 'hono';
import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { AppEnv } from '../env';
import { settings } from '../env';
import { notFound } from '../errors';
import { ASSET_PATHS, ASSETS } from './assets.generated';

export const PAGE_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const IMMUTABLE = 'public, max-age=31536000, immutable';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

type Markup = HtmlEscapedString | Promise<HtmlEscapedString>;

/**
 * The checkout with Stripe's Payment Element: Stripe.js and its frames from Stripe's own hosts, as
 * Stripe documents, on this page only and only when a publishable key is configured.
 */
export const STRIPE_CHECKOUT_POLICY = PAGE_POLICY.replace("script-src 'self'", "script-src 'self' https://js.stripe.com")
  .replace("connect-src 'self'", "connect-src 'self' https://api.stripe.com")
  .replace("img-src 'self' data:", "img-src 'self' data: https://*.stripe.com")
  .replace("default-src 'none'", "default-src 'none'; frame-src https://js.stripe.com https://hooks.stripe.com");

function stripeKey(c: Context<AppEnv>): string | null {
  const key = c.env.STRIPE_PUBLISHABLE_KEY;
  return c.env.PAYMENT_PROVIDER === 'stripe' && key && /^pk_(test|live)_[A-Za-z0-9]+$/.test(key) ? key : null;
}

function page(c: Context<AppEnv>, name: string, title: string, body: Markup, data: Record<string, string> = {}, policy = PAGE_POLICY) {
  c.header('Content-Security-Policy', policy);
  // The document is small and names the current assets: always revalidated.
  c.header('Cache-Control', 'no-cache');
  const attributes = Object.entries(data).map(([key, value]) => html` data-${raw(key)}="${value}"`);
  return c.html(html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Box office</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${ASSET_PATHS.style}">
<script type="module" src="${ASSET_PATHS.script}"></script>
</head>
<body data-page="${name}"${attributes}>
<a class="skip" href="#main">Skip to content</a>
<header class="site">
  <a class="brand" href="/">Box office</a>
  <nav aria-label="Account">
    <ul>
      <li><a href="/search">All events</a></li>
      <li data-when="signed-in" hidden><a href="/my/tickets">My tickets</a></li>
      <li data-when="admin" hidden><a href="/organize">Organize</a></li>
      <li data-when="admin" hidden><a href="/door">Door</a></li>
      <li data-when="signed-in" hidden><span class="who" id="who"></span></li>
      <li data-when="signed-in" hidden><button type="button" id="logout" class="link">Log out</button></li>
      <li data-when="signed-out"><a href="/login">Log in</a></li>
      <li data-when="signed-out"><a href="/signup">Sign up</a></li>
    </ul>
  </nav>
</header>
<main id="main" tabindex="-1">
${body}
</main>
<footer class="site"><p>Box office · <a href="/api/docs">API</a></p></footer>
</body>
</html>
`);
}

const searchForm = (keyword = '') => html`<form class="search" role="search" action="/search" method="get">
  <label for="keyword">Search events, artists, venues and cities</label>
  <div class="row">
    <input id="keyword" name="keyword" type="search" value="${keyword}" autocomplete="off" placeholder="e.g. taylor swift, Lisbon, jazz">
    <button type="submit">Search</button>
  </div>
</form>`;

const home = html`<h1>Find tickets</h1>
${searchForm()}
<section aria-labelledby="upcoming-heading">
  <h2 id="upcoming-heading">Upcoming events</h2>
  <ol id="upcoming" class="results" aria-busy="true"></ol>
  <p><a href="/search">All upcoming events</a></p>
</section>
<section aria-labelledby="cities-heading">
  <h2 id="cities-heading">Events by city</h2>
  <ul id="cities" class="chips" aria-busy="true"></ul>
</section>`;

function results(c: Context<AppEnv>) {
  const q = (name: string) => c.req.query(name) ?? '';
  return html`<h1>Events</h1>
<form id="filters" class="filters" role="search" action="/search" method="get">
  <div class="field wide">
    <label for="keyword">Keyword</label>
    <input id="keyword" name="keyword" type="search" value="${q('keyword')}" autocomplete="off">
  </div>
  <div class="field">
    <label for="start">From</label>
    <input id="start" name="start" type="date" value="${q('start')}">
  </div>
  <div class="field">
    <label for="end">Until</label>
    <input id="end" name="end" type="date" value="${q('end')}">
  </div>
  <div class="field">
    <label for="city">City</label>
    <select id="city" name="city" data-value="${q('city')}"><option value="">Any city</option>${q('city') ? html`<option selected>${q('city')}</option>` : ''}</select>
  </div>
  <div class="field">
    <label for="genre">Genre</label>
    <select id="genre" name="genre" data-value="${q('genre')}"><option value="">Any genre</option>${q('genre') ? html`<option selected>${q('genre')}</option>` : ''}</select>
  </div>
  <div class="field"><button type="submit">Search</button></div>
</form>
<p id="did-you-mean" hidden></p>
<p id="summary" role="status" aria-live="polite"></p>
<ol id="results" class="results" aria-busy="true"></ol>
<nav id="pager" class="pager" aria-label="Result pages"></nav>`;
}

const eventPage = html`<div id="event-details" aria-busy="true"><h1 id="event-name">Event</h1></div>
<p id="event-message" class="message" role="alert" hidden></p>
<div class="seating">
  <section class="map" aria-labelledby="map-heading">
    <h2 id="map-heading">Seat map</h2>
    <div class="map-tools" role="group" aria-label="Map view">
      <button type="button" id="zoom-in" aria-label="Zoom in">+</button>
      <button type="button" id="zoom-out" aria-label="Zoom out">−</button>
      <button type="button" id="zoom-reset">Whole venue</button>
      <span id="map-hint" class="hint">Drag to pan, scroll or pinch to zoom; zoom in to see seats.</span>
    </div>
    <canvas id="seat-canvas" width="800" height="520" role="img" aria-label="Seat map of the venue. Use the seat list to choose seats with a keyboard."></canvas>
    <ul class="legend" aria-label="Legend">
      <li><span class="swatch available"></span> Available</li>
      <li><span class="swatch selected">✓</span> Your choice</li>
      <li><span class="swatch taken">×</span> Held or sold</li>
      <li><span class="swatch blocked">–</span> Not for sale</li>
    </ul>
  </section>
  <section class="seat-list" aria-labelledby="list-heading">
    <h2 id="list-heading">Choose seats</h2>
    <div class="field">
      <label for="section-select">Section</label>
      <select id="section-select"></select>
    </div>
    <div class="field">
      <label for="row-select">Row</label>
      <select id="row-select"></select>
    </div>
    <fieldset class="seats">
      <legend id="seats-legend">Seats</legend>
      <p id="seat-keys" class="hint">Arrow keys move between seats; Enter or Space chooses one.</p>
      <ul id="seat-buttons" aria-describedby="seat-keys"></ul>
    </fieldset>
  </section>
</div>
<section class="basket" aria-labelledby="basket-heading">
  <h2 id="basket-heading">Your seats</h2>
  <p id="basket-limit" class="hint"></p>
  <ul id="basket-seats"></ul>
  <p class="total">Total: <strong id="basket-total">—</strong></p>
  <button type="button" id="hold" class="primary" disabled>Hold these seats</button>
  <p id="hold-message" class="message" role="alert" hidden></p>
  <form id="best-form" class="best" aria-labelledby="best-heading">
    <h3 id="best-heading">Or let us choose the best seats</h3>
    <div class="field"><label for="best-quantity">How many seats</label><input id="best-quantity" name="quantity" type="number" min="1" max="10" value="2" required></div>
    <div class="field"><label for="best-section">In section</label><select id="best-section" name="section"></select></div>
    <div class="field"><label for="best-max">Up to this price a seat (empty: any)</label><input id="best-max" name="maxPrice" type="number" min="0" step="0.01" inputmode="decimal"></div>
    <button type="submit" id="best-hold">Hold the best seats</button>
  </form>
</section>
<section id="waitlist" class="panel" aria-labelledby="waitlist-heading" hidden>
  <h2 id="waitlist-heading">Sold out? Join the waiting list</h2>
  <p class="hint">When places come free they are held for the first person waiting whom they fit, who then has time to pay for them.</p>
  <div id="waitlist-status"></div>
  <form id="waitlist-form">
    <div class="field"><label for="waitlist-quantity">How many places</label><input id="waitlist-quantity" name="quantity" type="number" min="1" max="10" value="2" required></div>
    <div class="field"><label for="waitlist-section">Which section</label><select id="waitlist-section" name="section"></select></div>
    <button type="submit">Join the waiting list</button>
  </form>
  <p id="waitlist-message" class="message" role="alert" hidden></p>
</section>`;

const checkout = html`<h1>Checkout</h1>
<p id="checkout-message" class="message" role="alert" hidden></p>
<div id="checkout" aria-busy="true">
  <section aria-labelledby="order-heading">
    <h2 id="order-heading">Your order</h2>
    <p id="countdown" class="countdown" role="timer" aria-live="off"></p>
    <ul id="order-seats"></ul>
    <p class="total">Total: <strong id="order-total"></strong></p>
  </section>
  <form id="pay-form" aria-labelledby="pay-heading">
    <h2 id="pay-heading">Pay</h2>
    <div id="payment-element" hidden></div>
    <fieldset id="test-cards">
      <legend>Card (test mode: no money moves)</legend>
      <label class="choice"><input type="radio" name="card" value="pm_card_visa" checked> Visa ending 4242 (succeeds)</label>
      <label class="choice"><input type="radio" name="card" value="pm_card_chargeDeclined"> Card that is declined</label>
      <label class="choice"><input type="radio" name="card" value="pm_card_insufficientFunds"> Card with insufficient funds</label>
    </fieldset>
    <div class="row">
      <button type="submit" id="pay" class="primary">Pay</button>
      <button type="button" id="cancel">Cancel and release the seats</button>
    </div>
  </form>
</div>
<section id="confirmation" aria-labelledby="confirmation-heading" hidden>
  <h2 id="confirmation-heading" tabindex="-1">Your tickets are booked</h2>
  <ul id="confirmed-tickets"></ul>
  <p><a href="/my/tickets">See all my tickets</a></p>
</section>`;

const authForm = (kind: 'login' | 'signup') => html`<h1>${kind === 'login' ? 'Log in' : 'Sign up'}</h1>
<form id="auth-form" class="auth" data-kind="${kind}" novalidate>
  ${kind === 'signup'
    ? html`<div class="field"><label for="name">Name</label><input id="name" name="name" autocomplete="name" required></div>`
    : ''}
  <div class="field"><label for="email">Email</label><input id="email" name="email" type="email" autocomplete="email" required></div>
  <div class="field"><label for="password">Password${kind === 'signup' ? ' (at least 8 characters)' : ''}</label>
    <input id="password" name="password" type="password" minlength="${kind === 'signup' ? '8' : '1'}" autocomplete="${kind === 'signup' ? 'new-password' : 'current-password'}" required></div>
  <p id="auth-message" class="message" role="alert" hidden></p>
  <button type="submit" class="primary">${kind === 'login' ? 'Log in' : 'Create account'}</button>
  <p>${kind === 'login' ? html`New here? <a id="other-auth" href="/signup">Sign up</a>` : html`Have an account? <a id="other-auth" href="/login">Log in</a>`}</p>
</form>`;

const queue = html`<h1>Waiting room</h1>
<p id="queue-event"></p>
<p id="queue-state" class="queue-state" role="status" aria-live="polite">Joining the line…</p>
<p id="queue-message" class="message" role="alert" hidden></p>
<section id="line" aria-labelledby="line-heading" hidden>
  <h2 id="line-heading">Your place</h2>
  <dl class="details">
    <dt>Position</dt><dd id="queue-position">—</dd>
    <dt>People ahead of you</dt><dd id="queue-ahead">—</dd>
    <dt>Estimated wait</dt><dd id="queue-eta">—</dd>
  </dl>
  <label for="queue-progress">Progress to the front</label>
  <progress id="queue-progress" max="1" value="0"></progress>
  <p class="hint">Keep this page open: it moves on to the seats by itself when it is your turn.</p>
</section>
<section id="lobby" aria-labelledby="lobby-heading" hidden>
  <h2 id="lobby-heading">Lobby</h2>
  <p>The sale opens <strong id="lobby-sale"></strong>, in <strong id="lobby-countdown" role="timer"></strong>.</p>
  <p>The order is drawn at random from a seed whose hash is published now:</p>
  <p><code id="lobby-seed" class="seed"></code></p>
</section>
<p><a id="fairness" href="#">How the order is drawn (fairness proof)</a></p>`;

const door = html`<h1>Door</h1>
<form id="scan-form" class="scan" autocomplete="off">
  <label for="scan-code">Ticket code</label>
  <div class="row">
    <input id="scan-code" name="code" autocomplete="off" autocapitalize="off" spellcheck="false">
    <button type="submit" class="primary">Check</button>
    <button type="button" id="scan-camera" hidden>Scan with the camera</button>
  </div>
  <p id="camera-note" class="hint"></p>
  <video id="scan-video" muted playsinline hidden></video>
</form>
<div id="scan-result" class="scan-result" role="status" aria-live="assertive" aria-atomic="true"></div>`;

const organize = html`<h1>Organize</h1>
<p class="hint">Performers and venues you create here are remembered in this browser for the event form; those of published events are listed too.</p>
<div class="organize">
<form id="performer-form" class="panel" aria-labelledby="performer-heading">
  <h2 id="performer-heading">New performer</h2>
  <div class="field"><label for="performer-name">Name</label><input id="performer-name" name="name" required></div>
  <div class="field"><label for="performer-genre">Genre</label><input id="performer-genre" name="genre"></div>
  <div class="field"><label for="performer-bio">About</label><textarea id="performer-bio" name="bio" rows="3"></textarea></div>
  <p id="performer-message" class="message" role="alert" hidden></p>
  <button type="submit" class="primary">Save performer</button>
</form>
<form id="venue-form" class="panel" aria-labelledby="venue-heading">
  <h2 id="venue-heading">New venue</h2>
  <div class="field"><label for="venue-name">Name</label><input id="venue-name" name="name" required></div>
  <div class="field"><label for="venue-city">City</label><input id="venue-city" name="city" required></div>
  <div class="field"><label for="venue-address">Address</label><input id="venue-address" name="address"></div>
  <fieldset>
    <legend>Sections (rows are named A, B, …; seats numbered from 1)</legend>
    <div id="venue-sections"></div>
    <button type="button" id="add-section">Add a section</button>
  </fieldset>
  <div id="venue-preview-wrap" class="preview">
    <p id="venue-capacity" role="status" aria-live="polite"></p>
    <canvas id="venue-preview" class="preview-canvas" role="img" aria-label="Preview of the venue's seat map"></canvas>
  </div>
  <p id="venue-message" class="message" role="alert" hidden></p>
  <button type="submit" class="primary">Save venue</button>
</form>
<form id="event-form" class="panel" aria-labelledby="event-heading">
  <h2 id="event-heading">New event</h2>
  <div class="field"><label for="event-name">Name</label><input id="event-name" name="name" required></div>
  <div class="field"><label for="event-description">Description</label><textarea id="event-description" name="description" rows="3"></textarea></div>
  <div class="field"><label for="event-performer">Performer</label><select id="event-performer" name="performerId" required></select></div>
  <div class="field"><label for="event-venue">Venue</label><select id="event-venue" name="venueId" required></select></div>
  <div class="field"><label for="event-starts">Starts</label><input id="event-starts" name="startsAt" type="datetime-local" required></div>
  <div class="field"><label for="event-onsale">On sale from (empty: now)</label><input id="event-onsale" name="onSaleAt" type="datetime-local"></div>
  <div class="field"><label for="event-status">Status</label><select id="event-status" name="status"><option value="published">Published</option><option value="draft">Draft</option></select></div>
  <div class="field"><label for="event-currency">Currency</label><input id="event-currency" name="currency" value="USD" maxlength="3" size="4"></div>
  <fieldset><legend>Prices by section</legend><div id="event-prices"></div></fieldset>
  <div class="field"><label class="choice"><input type="checkbox" id="event-queue" name="queue"> Waiting room for the sale</label></div>
  <fieldset id="queue-settings" hidden>
    <legend>Waiting room</legend>
    <div class="field"><label for="queue-rate">Admitted per minute</label><input id="queue-rate" name="admitPerMinute" type="number" min="1" value="100"></div>
    <div class="field"><label for="queue-active">Shoppers at once</label><input id="queue-active" name="maxActive" type="number" min="1" value="500"></div>
    <div class="field"><label for="queue-token">Minutes to shop once admitted</label><input id="queue-token" name="tokenMinutes" type="number" min="1" value="10"></div>
    <div class="field"><label for="queue-lobby">Lobby opens, minutes before the sale</label><input id="queue-lobby" name="lobbyMinutes" type="number" min="0" value="30"></div>
  </fieldset>
  <p id="event-message" class="message" role="alert" hidden></p>
  <button type="submit" class="primary">Create event</button>
</form>
</div>`;

const sales = html`<h1>Sales</h1>
<p id="sales-event"></p>
<p id="sales-message" class="message" role="alert" hidden></p>
<dl class="figures">
  <div><dt>Sold</dt><dd id="sales-sold">—</dd></div>
  <div><dt>Held</dt><dd id="sales-held">—</dd></div>
  <div><dt>Available</dt><dd id="sales-available">—</dd></div>
  <div><dt>Revenue</dt><dd id="sales-revenue">—</dd></div>
  <div><dt>Refunded</dt><dd id="sales-refunded">—</dd></div>
</dl>
<section class="panel" aria-labelledby="refund-heading">
  <h2 id="refund-heading">Cancel and refund</h2>
  <p id="refund-message" class="message" role="alert" hidden></p>
  <form id="refund-form" aria-label="Refund one booking">
    <div class="field"><label for="refund-booking">Booking number</label><input id="refund-booking" name="bookingId" autocomplete="off" spellcheck="false"></div>
    <div class="field"><label class="choice"><input type="checkbox" id="refund-release" name="releaseSeats"> Put its seats back on sale</label></div>
    <button type="submit">Refund this booking</button>
  </form>
  <p><button type="button" id="cancel-event" class="danger">Cancel the event and refund everyone</button></p>
</section>
<form id="edit-form" class="panel" aria-labelledby="edit-heading" hidden>
  <h2 id="edit-heading">Change the event</h2>
  <div class="field"><label for="edit-status">Status</label><select id="edit-status" name="status"><option value="published">Published</option><option value="draft">Draft</option><option value="cancelled">Cancelled</option></select></div>
  <div class="field"><label for="edit-onsale">On sale from</label><input id="edit-onsale" name="onSaleAt" type="datetime-local"></div>
  <fieldset><legend>Prices by section</legend><div id="edit-prices"></div></fieldset>
  <div class="field"><label class="choice"><input type="checkbox" id="edit-queue" name="queue"> Waiting room for the sale</label></div>
  <fieldset id="edit-queue-settings">
    <legend>Waiting room</legend>
    <div class="field"><label for="edit-rate">Admitted per minute</label><input id="edit-rate" name="admitPerMinute" type="number" min="1"></div>
    <div class="field"><label for="edit-active">Shoppers at once</label><input id="edit-active" name="maxActive" type="number" min="1"></div>
    <div class="field"><label for="edit-token">Minutes to shop once admitted</label><input id="edit-token" name="tokenMinutes" type="number" min="1"></div>
    <div class="field"><label for="edit-lobby">Lobby opens, minutes before the sale</label><input id="edit-lobby" name="lobbyMinutes" type="number" min="0"></div>
  </fieldset>
  <p id="edit-message" class="message" role="alert" hidden></p>
  <button type="submit" class="primary">Save changes</button>
  <p class="hint">Pages and search show a change within 60 seconds.</p>
</form>
<section class="panel" aria-labelledby="chart-heading">
  <h2 id="chart-heading">Sold (solid) since the first sale, held (dashed) while this page is open</h2>
  <canvas id="sales-chart" class="chart" role="img" aria-label="Tickets sold over time"></canvas>
  <p class="hint">Updated every 5 seconds.</p>
</section>`;

const myTickets = html`<h1>My tickets</h1>
<p id="tickets-message" class="message" role="alert" hidden></p>
<ol id="bookings" class="bookings" aria-busy="true"></ol>
<section id="waitlist-section-of-tickets" aria-labelledby="my-waitlist-heading" hidden>
  <h2 id="my-waitlist-heading">Waiting lists</h2>
  <p id="waitlist-message" class="message" role="alert" hidden></p>
  <ul id="waitlist-entries" class="bookings" aria-busy="true"></ul>
</section>`;

/** Mounted at /: the pages and their assets. Anything else falls through to the JSON 404. */
export const pageRoutes = new Hono<AppEnv>()
  .get('/', (c) => page(c, 'home', 'Find tickets', home))
  .get('/search', (c) => page(c, 'search', 'Events', results(c)))
  .get('/events/:eventId', (c) => {
    const eventId = c.req.param('eventId');
    if (!UUID.test(eventId)) throw notFound('event');
    const limit = Math.min(10, settings(c.env).maxTicketsPerUser);
    return page(c, 'event', 'Event', eventPage, { 'event-id': eventId, 'max-tickets': String(limit) });
  })
  .get('/events/:eventId/queue', (c) => {
    const eventId = c.req.param('eventId');
    if (!UUID.test(eventId)) throw notFound('event');
    return page(c, 'queue', 'Waiting room', queue, { 'event-id': eventId });
  })
  .get('/checkout/:bookingId', (c) => {
    const key = stripeKey(c);
    const data: Record<string, string> = { 'booking-id': c.req.param('bookingId') };
    if (key) data['stripe-key'] = key;
    return page(c, 'checkout', 'Checkout', checkout, data, key ? STRIPE_CHECKOUT_POLICY : PAGE_POLICY);
  })
  .get('/login', (c) => page(c, 'login', 'Log in', authForm('login')))
  .get('/signup', (c) => page(c, 'signup', 'Sign up', authForm('signup')))
  .get('/door', (c) => page(c, 'door', 'Door', door))
  .get('/organize', (c) => page(c, 'organize', 'Organize', organize))
  .get('/organize/events/:eventId', (c) => {
    const eventId = c.req.param('eventId');
    if (!UUID.test(eventId)) throw notFound('event');
    return page(c, 'sales', 'Sales', sales, { 'event-id': eventId });
  })
  .get('/my/tickets', (c) => page(c, 'tickets', 'My tickets', myTickets))
  .get('/assets/:file', (c) => {
    const asset = ASSETS.get(`/assets/${c.req.param('file')}`);
    if (!asset) throw notFound('file');
    c.header('Content-Type', asset.type);
    c.header('Cache-Control', IMMUTABLE);
    return c.body(asset.body);
  });
