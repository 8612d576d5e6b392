// The public JSON API (API.md), as the pages call it: same origin, so the HttpOnly session cookie
// goes along and the cross-site rules (src/lib/cross-site.ts) see Sec-Fetch-Site: same-origin.

export interface ApiErrorBody {
  code: string;
  message: string;
  details?: unknown;
}

export type ApiResult<T> = { ok: true; status: number; body: T } | { ok: false; status: number; error: ApiErrorBody };

export async function api<T>(path: string, init: { method?: string; json?: unknown } = {}): Promise<ApiResult<T>> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (init.json !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method: init.method ?? 'GET',
      headers,
      body: init.json === undefined ? undefined : JSON.stringify(init.json),
      credentials: 'same-origin',
    });
  } catch {
    return { ok: false, status: 0, error: { code: 'network', message: 'The box office could not be reached. Check your connection and try again.' } };
  }
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (response.ok) return { ok: true, status: response.status, body: parsed as T };
  const error = (parsed as { error?: ApiErrorBody } | null)?.error ?? { code: 'http_' + response.status, message: `The server answered ${response.status}.` };
  return { ok: false, status: response.status, error };
}

export interface SearchEvent {
  id: string;
  name: string;
  startsAt: string;
  status: string;
  venue: { id: string; name: string; city: string };
  performer: { id: string; name: string };
  minPriceCents: number | null;
  currency: string;
}

export interface Facet {
  value: string;
  count: number;
}

export interface SearchAnswer {
  events: SearchEvent[];
  page: number;
  pageSize: number;
  total: number;
  totalExact?: boolean;
  didYouMean?: string;
  facets?: { city?: Facet[]; genre?: Facet[] };
}

export interface User {
  id: string;
  email: string;
  name: string;
  role: string;
}

export interface BookingTicket {
  id: string;
  section: string;
  /** Null, with seat, for a place in a standing area. */
  row: string | null;
  seat: number | null;
  priceCents: number;
  code: string | null;
}

export interface Booking {
  bookingId: string;
  status: 'pending' | 'confirmed' | 'cancelled' | 'expired';
  eventId: string;
  ticketIds: string[];
  tickets?: BookingTicket[];
  totalCents: number;
  currency: string;
  expiresAt: string | null;
  confirmedAt?: string | null;
  refunded?: boolean;
}
