// One client process of bench/seat-stream.ts: opens its share of the seat streams and tells the
// parent, over IPC, when each `seats` frame reached each of its streams. Spread over several
// processes so that 10,000 streams are not all read by one Node thread (whose turn to read would
// otherwise be part of every frame's time).
//
// Times are taken on a clock comparable across processes: performance.timeOrigin + performance.now(),
// when the chunk arrives, before parsing.
//
// Protocol (process.send / process.on('message')):
//   parent → child  { type: 'open', url, count, openAtOnce }
//   child → parent  { type: 'opened', count, relays }            every stream has its snapshot
//   child → parent  { type: 'frame', index, times, relays, statuses }
//                   once every stream has its index-th seats frame: each stream's arrival time, the
//                   relay that serves it (the X-Seat-Relay header, -1 if absent) and the status of
//                   the frame's first change, in the order of the streams
//   parent → child  { type: 'close' }                            abort every stream and exit
//   child → parent  { type: 'error', message }

export type ParentMessage =
  | { type: 'open'; url: string; count: number; openAtOnce: number }
  | { type: 'close' };

export type ChildMessage =
  | { type: 'opened'; count: number; relays: number[] }
  | { type: 'frame'; index: number; times: number[]; relays: number[]; statuses: string[] }
  | { type: 'error'; message: string };

/** Milliseconds on a clock every process of the bench shares (to within the clock's own accuracy). */
export const sharedNow = (): number => performance.timeOrigin + performance.now();

function send(message: ChildMessage): void {
  process.send!(message);
}

interface Arrival {
  at: number;
  status: string;
}

class Stream {
  private buffer = '';
  readonly arrivals: Arrival[] = [];
  private markReady: () => void = () => {};
  readonly ready = new Promise<void>((resolve) => (this.markReady = resolve));

  constructor(
    body: ReadableStream<Uint8Array>,
    readonly relay: number,
    private readonly onFrame: (index: number) => void,
  ) {
    this.pump(body).catch(() => {}); // an AbortError when the stream is closed
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of body) {
      const at = sharedNow();
      this.buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = this.buffer.indexOf('\n\n')) >= 0) {
        const block = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        if (/^event: snapshot$/m.test(block)) this.markReady();
        if (!/^event: seats$/m.test(block)) continue;
        const data = JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as { changes: Array<{ status: string }> };
        this.arrivals.push({ at, status: data.changes[0]?.status ?? 'none' });
        this.onFrame(this.arrivals.length - 1);
      }
    }
  }
}

const controllers: AbortController[] = [];
const streams: Stream[] = [];
/** The next frame index to report; a frame is reported once every stream has it. */
let reported = 0;
let opened = false;

function reportReady(): void {
  if (!opened) return;
  while (streams.length && streams.every((stream) => stream.arrivals.length > reported)) {
    const times: number[] = [];
    const statuses: string[] = [];
    for (const stream of streams) {
      const arrival = stream.arrivals[reported]!;
      times.push(arrival.at);
      statuses.push(arrival.status);
    }
    send({ type: 'frame', index: reported, times, relays: streams.map((stream) => stream.relay), statuses });
    // Frees what was reported: arrivals are kept only until their frame is complete.
    for (const stream of streams) stream.arrivals[reported] = undefined as unknown as Arrival;
    reported += 1;
  }
}

// Checking every stream on every frame would be quadratic: count the streams that have each frame instead.
const have = new Map<number, number>();
function frameArrived(index: number): void {
  const count = (have.get(index) ?? 0) + 1;
  have.set(index, count);
  if (count === streams.length && opened) {
    have.delete(index);
    // After this turn's chunks are all parsed.
    setImmediate(reportReady);
  }
}

async function open(url: string, count: number, openAtOnce: number): Promise<void> {
  for (let start = 0; start < count; start += openAtOnce) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(openAtOnce, count - start) }, async () => {
        const controller = new AbortController();
        controllers.push(controller);
        const response = await fetch(url, { signal: controller.signal });
        if (response.status !== 200 || !response.body) throw new Error(`stream: ${response.status} ${await response.text()}`);
        const stream = new Stream(response.body, Number(response.headers.get('X-Seat-Relay') ?? -1), frameArrived);
        await stream.ready;
        return stream;
      }),
    );
    streams.push(...batch);
  }
  opened = true;
  send({ type: 'opened', count: streams.length, relays: streams.map((stream) => stream.relay) });
}

process.on('message', (message: ParentMessage) => {
  if (message.type === 'open') {
    open(message.url, message.count, message.openAtOnce).catch((error: unknown) => {
      send({ type: 'error', message: String((error as Error)?.stack ?? error) });
    });
  } else if (message.type === 'close') {
    for (const controller of controllers) controller.abort();
    process.disconnect();
    setTimeout(() => process.exit(0), 100).unref();
  }
});
// The parent went away (killed): go too.
process.on('disconnect', () => process.exit(0));
