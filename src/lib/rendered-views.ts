// Event views rendered to JSON text, one per event, kept while their versions are current. The
// full view of a stadium is megabytes of JSON: built once per (catalog version, seat status
// version) in an isolate, every other request for the same versions is answered with the same
// string. Bounded by count and by bytes; the least recently used goes first.
const MAX_VIEWS = 64;
const MAX_BYTES = 96 * 1024 * 1024;

export class RenderedViews {
  private readonly views = new Map<string, { version: string; body: string }>();
  private bytes = 0;

  /** The body rendered for exactly this version, if it is still kept. */
  recall(eventId: string, version: string): string | undefined {
    const view = this.views.get(eventId);
    if (!view || view.version !== version) return undefined;
    this.views.delete(eventId);
    this.views.set(eventId, view);
    return view.body;
  }

  remember(eventId: string, version: string, body: string): void {
    this.drop(eventId);
    // Two bytes a character is what a JS string may take; an estimate is enough for a bound.
    const size = body.length * 2;
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
    this.bytes -= view.body.length * 2;
  }
}
