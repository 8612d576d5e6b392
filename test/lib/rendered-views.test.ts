import { describe, expect, it } from 'vitest';
import { encodedBody, GZIP_FROM_BYTES, RenderedViews, type RenderedView } from '../../src/lib/rendered-views';

describe('rendered event views', () => {
  it('answer only for the version they were rendered for', () => {
    const views = new RenderedViews();
    views.remember('event-a', 'v1-s1', { text: '{"a":1}' });

    expect(views.recall('event-a', 'v1-s1')?.text).toBe('{"a":1}');
    expect(views.recall('event-a', 'v1-s2')).toBeUndefined();
    expect(views.recall('event-b', 'v1-s1')).toBeUndefined();
  });

  it('keep one body per event: a newer version replaces the older', () => {
    const views = new RenderedViews();
    views.remember('event-a', 'v1-s1', { text: 'old' });
    views.remember('event-a', 'v1-s2', { text: 'new' });

    expect(views.recall('event-a', 'v1-s1')).toBeUndefined();
    expect(views.recall('event-a', 'v1-s2')?.text).toBe('new');
  });

  it('forget the least recently used event beyond 64 events', () => {
    const views = new RenderedViews();
    for (let i = 0; i < 64; i += 1) views.remember(`event-${i}`, 'v', { text: `body ${i}` });
    views.recall('event-0', 'v');
    views.remember('event-64', 'v', { text: 'body 64' });

    expect(views.recall('event-0', 'v')?.text).toBe('body 0');
    expect(views.recall('event-1', 'v')).toBeUndefined();
    expect(views.recall('event-64', 'v')?.text).toBe('body 64');
  });

  it('do not keep a body too big to share the budget', () => {
    const views = new RenderedViews();
    views.remember('stadium', 'v', { text: 'x'.repeat(13 * 1024 * 1024) });

    expect(views.recall('stadium', 'v')).toBeUndefined();
  });

  it('send a big body gzipped, compressed once, to a client that accepts gzip', async () => {
    const view: RenderedView = { text: JSON.stringify({ tickets: Array.from({ length: 2000 }, (_, i) => ({ id: i, status: 'available' })) }) };

    const first = encodedBody(view, 'gzip, deflate, br');
    const compressed = await first.body;
    const second = encodedBody(view, 'br, gzip');

    expect(first.gzip).toBe(true);
    expect(second).toEqual({ body: compressed, gzip: true });
    const inflated = await new Response(new Blob([compressed]).stream().pipeThrough(new DecompressionStream('gzip'))).text();
    expect(inflated).toBe(view.text);
  });

  it('never hands a request another request\'s compression still under way: it gets the text as it is', async () => {
    const view: RenderedView = { text: 'y'.repeat(64 * 1024) };

    const first = encodedBody(view, 'gzip');
    const meanwhile = encodedBody(view, 'gzip');

    expect(first.gzip).toBe(true);
    expect(first.body).toBeInstanceOf(Promise);
    expect(meanwhile).toEqual({ body: view.text, gzip: false });
    await first.body;
    expect(encodedBody(view, 'gzip').body).toBeInstanceOf(ArrayBuffer);
  });

  it('send a club-sized view (about 29 KB at 200 seats) gzipped as well', async () => {
    const club: RenderedView = { text: JSON.stringify({ tickets: Array.from({ length: 200 }, (_, i) => ({ id: crypto.randomUUID(), section: 'Floor', row: String(i % 10), seat: i, status: 'available' })) }) };
    expect(club.text.length).toBeGreaterThan(GZIP_FROM_BYTES);

    const encoded = encodedBody(club, 'gzip, deflate');

    expect(encoded.gzip).toBe(true);
    expect(((await encoded.body) as ArrayBuffer).byteLength).toBeLessThan(club.text.length * 0.75);
  });

  it('send a small body, or any body to a client that does not accept gzip, as it is', () => {
    const big = { text: 'x'.repeat(64 * 1024) };

    expect(encodedBody({ text: '{"a":1}' }, 'gzip')).toEqual({ body: '{"a":1}', gzip: false });
    expect(encodedBody(big, undefined)).toEqual({ body: big.text, gzip: false });
    expect(encodedBody(big, 'br')).toEqual({ body: big.text, gzip: false });
  });
});
