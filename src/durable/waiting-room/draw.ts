// The lobby's draw (API.md, `GET …/queue/fairness`): a seed whose hash is published when the lobby
// opens, and at `onSaleAt` everyone in the lobby sorted by SHA-256 of `<seed>:<participantId>`.
import { createHash } from 'node:crypto';

export const sha256hex = (text: string) => createHash('sha256').update(text).digest('hex');
export const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

export const participantIdOf = (eventId: string, userId: string) => sha256hex(`${eventId}:${userId}`).slice(0, 24);
export const drawKeyOf = (seed: string, participantId: string) => sha256hex(`${seed}:${participantId}`);

/** The lobby in drawn order: ascending draw key (hex text compares as the numbers do). */
export function drawOrder(eventId: string, seed: string, userIds: readonly string[]): Array<{ userId: string; participantId: string }> {
  return userIds
    .map((userId) => {
      const participantId = participantIdOf(eventId, userId);
      return { userId, participantId, key: drawKeyOf(seed, participantId) };
    })
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(({ userId, participantId }) => ({ userId, participantId }));
}
