// Event views rendered to JSON text, one per event, kept while their versions are current. The
// full view of a stadium is megabytes of JSON: built once per (catalog version, seat status
// version) in an isolate, every other request for the same versions is answered with the same
// string. Bounded by count and by bytes; the least recently used goes first.
const MAX_VIEWS = 64;
const MAX_BYTES = 96 * 1024 * 1024;
/**
 * Smaller bodies are sent as they are. A view is compressed once per version and the bytes shared,
 * so even a club's (29 KB at 200 seats, 3 KB gzipped) is cheaper to send compressed: on the read
 * path the body's bytes are what a cached view costs (bench/reads.ts's controls).
 */
export const GZIP_FROM_BYTES = 1024;

export interface RenderedView {
  text: string;
  /** The text gzipped, once the first request that accepts gzip has compressed it (shared by the rest as plain bytes). */
  gzipped?: ArrayBuffer;
  /** A request is compressing it now. */
  compressing?: boolean;
}

/**
 * The view's body in the encoding the client accepts: gzip, compressed once per version, for a big
 * one. Only finished bytes are shared: a request never waits on another request's compression (the
 * Workers runtime cancels a request that waits on I/O only another request settles), so one that
 * comes while the first compresses is sent the text as it is.
 */
export function encodedBody(view: RenderedView, acceptEncoding: string | undefined): { body: string | ArrayBuffer | Promise<ArrayBuffer>; gzip: boolean } {
  if (view.text.length < GZIP_FROM_BYTES || !/\bgzip\b/i.test(acceptEncoding ?? '')) return { body: view.text, gzip: false };
  if (view.gzipped) return { body: view.gzipped, gzip: true };
  if (view.compressing) return { body: view.text, gzip: false };
  view.compressing = true;
  const compressed = new Response(new Blob([view.text]).stream().pipeThrough(new CompressionStream('gzip')))
    .arrayBuffer()
    .then((bytes) => (view.gzipped = bytes))
    .finally(() => (view.compressing = false));
  return { body: compressed, gzip: true };
}

export class RenderedViews {
  private readonly views = new Map<string, { version: string; body: RenderedView }>();
  private bytes = 0;

  /** The body rendered for exactly this version, if it is still kept. */
  recall(eventId: string, version: string): RenderedView | undefined {
    const view = this.views.get(eventId);
    if (!view || view.version !== version) return undefined;
    this.views.delete(eventId);
    this.views.set(eventId, view);
    return view.body;
  }

  remember(eventId: string, version: string, body: RenderedView): void {
    this.drop(eventId);
    // Two bytes a character is what a JS string may take (its gzip is smaller): an estimate is enough for a bound.
    const size = body.text.length * 2;
    if (size > MAX_BYTES / 4) return;
    this.views.set(eventId, { version, body });
    this.bytes += size;
    for (const [oldest] of this.views) {
      if (this.views.size <= MAX_VIEWS && this.bytes <= MAX_BYTES) break;
      this.drop(oldest);
    }
  }

  private drop(eventId: string): void {
    const view = this.views.get(eventId);
    if (!view) return;
    this.views.delete(eventId);
    this.bytes -= view.body.text.length * 2;
  }
}

/**
 * The answer for a rendered body: gzipped bytes shared by every request of its version where the
 * client takes gzip, else the text. `headers` are the answer's own (ETag, Cache-Control).
 */
export async function renderedResponse(view: RenderedView, acceptEncoding: string | undefined, headers: Record<string, string>): Promise<Response> {
  const encoded = encodedBody(view, acceptEncoding);
  const all = { 'Content-Type': 'application/json; charset=UTF-8', Vary: 'Accept-Encoding', ...headers };
  if (!encoded.gzip) return new Response(encoded.body as string, { headers: all });
  // Already compressed: the runtime must send these bytes as they are.
  return new Response(await encoded.body, { headers: { ...all, 'Content-Encoding': 'gzip' }, encodeBody: 'manual' });
}
