// The room's hibernatable WebSockets: who is connected, and what each was last told.
import type { QueueView, SocketAttachment } from './types';

/** Even with a positive position, an ETA is sent again at least this often. */
const ETA_REFRESH_MS = 10 * 1000;
/** Sockets one account may keep open here (tabs, devices); opening another closes the oldest. */
export const MAX_SOCKETS_PER_USER = 3;

export class Sockets {
  constructor(private readonly ctx: DurableObjectState) {}

  /** Accepts a server socket for `userId`, tagged with it so `openOf` finds it after hibernation. */
  accept(server: WebSocket, userId: string): void {
    this.ctx.acceptWebSocket(server, [userId]);
    server.serializeAttachment({ userId, last: null } satisfies SocketAttachment);
  }

  openOf(userId: string): WebSocket[] {
    return this.ctx.getWebSockets(userId).filter((ws) => ws.readyState === WebSocket.OPEN);
  }

  /** Every open socket with its account. */
  *open(): Generator<[WebSocket, string]> {
    for (const ws of this.ctx.getWebSockets()) {
      if (ws.readyState === WebSocket.OPEN) yield [ws, userOf(ws)];
    }
  }

  /** Sends a message unless it would only repeat the last one (a position is repeated for its ETA every ETA_REFRESH_MS). */
  send(ws: WebSocket, message: Record<string, unknown>, now: number): void {
    const attachment = ws.deserializeAttachment() as SocketAttachment;
    const key = message.type === 'position' ? `position:${message.position}:${Math.floor(now / ETA_REFRESH_MS)}` : JSON.stringify(message);
    if (attachment.last === key) return;
    try {
      ws.send(JSON.stringify(message));
    } catch {
      return; // closing; its close handler tidies up
    }
    ws.serializeAttachment({ ...attachment, last: key } satisfies SocketAttachment);
  }

  /** One message to every open socket, serialized once. */
  broadcast(message: Record<string, unknown>, close: boolean): void {
    const text = JSON.stringify(message);
    for (const ws of this.ctx.getWebSockets()) {
      if (ws.readyState !== WebSocket.OPEN) continue;
      try {
        ws.send(text);
        if (close) ws.close(1000, String(message.type));
      } catch {
        // closing already; its close handler tidies up
      }
    }
  }

  /** Whether asking now is within a second of this socket's last question (asking is limited); records the question. */
  /**
   * Counts a `status` request. API.md answers every one; a client asking more than
   * MAX_STATUS_PER_SECOND times in a second is flooding the room's one thread, and is closed.
   */
  asksTooOften(ws: WebSocket, now: number): boolean {
    const attachment = ws.deserializeAttachment() as SocketAttachment;
    const sameSecond = attachment.askedAt !== undefined && now - attachment.askedAt < 1000;
    const asked = sameSecond ? (attachment.askedCount ?? 1) + 1 : 1;
    ws.serializeAttachment({ ...attachment, askedAt: sameSecond ? attachment.askedAt : now, askedCount: asked } satisfies SocketAttachment);
    return asked > MAX_STATUS_PER_SECOND;
  }

}

/** Enough for any client that polls or retries; far below what would hog the room. */
export const MAX_STATUS_PER_SECOND = 10;

export function userOf(ws: WebSocket): string {
  return (ws.deserializeAttachment() as SocketAttachment).userId;
}

export function messageOf(view: QueueView): Record<string, unknown> {
  const { state, ...fields } = view;
  return { type: state === 'waiting' ? 'position' : state, ...fields };
}
