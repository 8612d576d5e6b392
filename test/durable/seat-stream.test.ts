// The seat stream hub on its own, over a small in-memory change log, with short timings: the
// keep-alive and the closing of clients that stop reading are minutes-scale in the TicketLock.
import { describe, expect, it, onTestFinished } from 'vitest';
import { SeatStreamHub, parseEventId, type LoggedChange, type SeatLog, type SeatState } from '../../src/durable/seat-stream';

class MemoryLog implements SeatLog {
  readonly seats = new Map<string, SeatState>([['s1', 'available'], ['s2', 'available'], ['s3', 'available']]);
  changes: LoggedChange[] = [];
  private current = 1;

  constructor(private readonly epochValue = 'abcdef012345') {}

  epoch(): string {
    return this.epochValue;
  }
  version(): number {
    return this.current;
  }
  changesAfter(version: number): LoggedChange[] | null {
    if (version >= this.current) return version === this.current ? [] : null;
    const after = this.changes.filter((change) => change.version > version);
    return after[0]?.version === version + 1 ? after : null;
  }
  snapshot() {
    return [...this.seats].map(([id, status]) => ({ id, status }));
  }
  record(hub: SeatStreamHub, id: string, status: SeatState): void {
    this.current += 1;
    this.seats.set(id, status);
    this.changes.push({ version: this.current, id, status });
    hub.changed();
  }
}

const decoder = new TextDecoder();

function textReader(stream: ReadableStream<Uint8Array>) {
  const reader = stream.getReader();
  onTestFinished(() => reader.cancel().catch(() => {}));
  let text = '';
  return {
    reader,
    /** Reads until `pattern` has arrived; resolves with everything read so far. */
    async until(pattern: RegExp, timeoutMs = 2000): Promise<string> {
      const deadline = Date.now() + timeoutMs;
      while (!pattern.test(text)) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`not seen within ${timeoutMs} ms: ${pattern}; got ${JSON.stringify(text)}`);
        const result = await Promise.race([reader.read(), new Promise<null>((resolve) => setTimeout(() => resolve(null), left))]);
        if (!result) continue;
        if (result.done) throw new Error(`the stream ended before ${pattern}; got ${JSON.stringify(text)}`);
        text += decoder.decode(result.value, { stream: true });
      }
      return text;
    },
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function opened(hub: SeatStreamHub, lastEventId: string | null): ReadableStream<Uint8Array> {
  const stream = hub.open(lastEventId);
  if (!stream) throw new Error('the hub refused a stream');
  return stream;
}

describe('SeatStreamHub', () => {
  it('keeps an idle stream open with a comment line every heartbeat period', async () => {
    const log = new MemoryLog();
    const hub = new SeatStreamHub(log, { batchMs: 10, heartbeatMs: 50, maxBacklogBytes: 1 << 20 });
    const stream = textReader(opened(hub, null));

    const text = await stream.until(/(: keep-alive\n\n[^]*){2}/);

    expect(text).toMatch(/^id: abcdef012345-1\nevent: snapshot\ndata: \{.*\}\n\n/);
  });

  it('forgets a client that went away', async () => {
    const log = new MemoryLog();
    const hub = new SeatStreamHub(log, { batchMs: 10, heartbeatMs: 20, maxBacklogBytes: 1 << 20 });
    const stream = textReader(opened(hub, null));
    await stream.until(/event: snapshot/);
    expect(hub.size).toBe(1);

    await stream.reader.cancel();
    log.record(hub, 's1', 'reserved');
    await pause(100);

    expect(hub.size).toBe(0);
  });

  it('closes a client that stops reading once its backlog passes the limit, and keeps serving the others', async () => {
    const log = new MemoryLog();
    const hub = new SeatStreamHub(log, { batchMs: 5, heartbeatMs: 60_000, maxBacklogBytes: 300 });
    const reading = textReader(opened(hub, null));
    const stalled = opened(hub, null).getReader();
    onTestFinished(() => stalled.cancel().catch(() => {}));
    await reading.until(/event: snapshot/);

    for (let i = 0; i < 12; i += 1) {
      log.record(hub, `s${(i % 3) + 1}`, i % 2 ? 'available' : 'reserved');
      await reading.until(new RegExp(`id: abcdef012345-${i + 2}\\n`));
    }

    expect(hub.size).toBe(1);
    await expect(
      (async () => {
        for (;;) if ((await stalled.read()).done) return 'ended';
      })(),
    ).rejects.toBeDefined();
  });

  it('refuses streams beyond its limit, and takes new ones once others have gone', async () => {
    const log = new MemoryLog();
    const hub = new SeatStreamHub(log, { batchMs: 5, heartbeatMs: 60_000, maxBacklogBytes: 1 << 20, maxWatchers: 2 });
    const first = textReader(opened(hub, null));
    textReader(opened(hub, null));
    await first.until(/event: snapshot/);

    expect(hub.open(null)).toBeNull();

    await first.reader.cancel();
    log.record(hub, 's1', 'reserved');
    await pause(50);
    await textReader(opened(hub, null)).until(/event: snapshot/);
    expect(hub.size).toBe(2);
  });

  it('sends a snapshot to a client whose missed changes are no longer kept', async () => {
    const log = new MemoryLog();
    const hub = new SeatStreamHub(log, { batchMs: 5, heartbeatMs: 60_000, maxBacklogBytes: 1 << 20 });
    for (const [id, status] of [['s1', 'reserved'], ['s2', 'reserved'], ['s1', 'booked']] as const) log.record(hub, id, status);
    log.changes = log.changes.filter((change) => change.version > 2); // version 2 was trimmed

    const fromOne = await textReader(opened(hub, 'abcdef012345-1')).until(/\n\n/);
    const fromTwo = await textReader(opened(hub, 'abcdef012345-2')).until(/\n\n/);

    expect(fromOne).toMatch(/^id: abcdef012345-4\nevent: snapshot\n/);
    expect(fromTwo).toBe(`id: abcdef012345-4\nevent: seats\ndata: ${JSON.stringify({ version: 4, changes: [{ id: 's2', status: 'reserved' }, { id: 's1', status: 'booked' }] })}\n\n`);
  });

  it('builds a snapshot once per version, however many clients open at it', async () => {
    const log = new MemoryLog();
    let built = 0;
    const snapshot = log.snapshot.bind(log);
    log.snapshot = () => {
      built += 1;
      return snapshot();
    };
    const hub = new SeatStreamHub(log, { batchMs: 10, heartbeatMs: 60_000, maxBacklogBytes: 1 << 20 });

    const first = await Promise.all([1, 2, 3].map(() => textReader(hub.open(null)!).until(/event: snapshot/)));
    log.record(hub, 's1', 'reserved');
    const later = await textReader(hub.open(null)!).until(/event: snapshot/);

    expect(built).toBe(2);
    expect(new Set(first).size).toBe(1);
    expect(later).toContain('"id":"s1","status":"reserved"');
  });

  it('reads only well-formed event ids of the right length', () => {
    expect(parseEventId('abcdef012345-42')).toEqual({ epoch: 'abcdef012345', version: 42 });
    for (const raw of [null, '', '42', 'abcdef012345', 'abcdef012345-', 'ABCDEF012345-1', 'abcdef012345-1.5', 'abcdef012345-99999999999999999', `abcdef012345-1${' '.repeat(100)}`]) {
      expect(parseEventId(raw), String(raw)).toBeNull();
    }
  });
});
