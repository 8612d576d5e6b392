// A waiting-room client may send `status` (answered with its position) and `ping` (answered
// `pong`), API.md says: every status is answered, and only a flood closes the socket.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_STATUS_PER_SECOND } from '../../../src/durable/waiting-room/sockets';
import { adminToken, createQueuedEvent, QueueClient, signUp, TestClock, waitFor } from '../../helpers';

const clock = new TestClock();

describe('status requests on a waiting-room socket', () => {
  let admin: string;
  beforeAll(async () => {
    clock.install();
    admin = await adminToken();
  });
  afterAll(() => clock.uninstall());

  /** A shopper in line with their socket open (the clock stands still, so nobody is admitted). */
  async function waitingClient(): Promise<QueueClient> {
    const { eventId } = await createQueuedEvent(admin, { now: clock.now, queue: { admitPerMinute: 1, maxActive: 1 } });
    const client = await QueueClient.connect(eventId, (await signUp()).token);
    await client.next('position');
    return client;
  }

  it('answers each status with the position, however soon after the last', async () => {
    const client = await waitingClient();
    const before = client.messages.filter((m) => m.type === 'position').length;

    client.socket.send('status');
    client.socket.send('status');
    client.socket.send('status');

    await waitFor(() => (client.messages.filter((m) => m.type === 'position').length >= before + 3 ? true : undefined), 'three answers');
    expect(client.messages.filter((m) => m.type === 'position').slice(before)).toEqual(Array(3).fill({ type: 'position', position: 1, ahead: 0, etaSeconds: client.last('position')!.etaSeconds }));
    expect(client.closed).toBe(false);
  });

  it(`closes a socket that asks more than ${MAX_STATUS_PER_SECOND} times in a second`, async () => {
    const client = await waitingClient();

    for (let i = 0; i <= MAX_STATUS_PER_SECOND; i += 1) client.socket.send('status');

    await waitFor(() => (client.closed ? true : undefined), 'the socket closed');
  });
});
