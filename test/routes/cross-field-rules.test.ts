// Found by the endpoint fuzzer (test/fuzz): a rule across fields (start before end, onSaleAt not
// after startsAt) ran on what failed its own field's check, read a Date that was never made, and
// answered 500. Any invalid field must answer 400 validation_failed, whatever the other fields.
import { beforeAll, describe, expect, it } from 'vitest';
import { adminToken, api, createEvent } from '../helpers';

async function expectValidationFailed(response: Response) {
  expect(response.status).toBe(400);
  expect(((await response.json()) as { error: { code: string } }).error.code).toBe('validation_failed');
}

describe('rules across fields, when a field they read is invalid', () => {
  let admin: string;
  let performerId: string;
  let venueId: string;
  beforeAll(async () => {
    admin = await adminToken();
    ({ performerId, venueId } = await createEvent(admin));
  });

  it('search with both start and end not dates is 400, not 500', async () => {
    await expectValidationFailed(await api('/api/events/search?start=not-a-date&end=5e-324'));
    await expectValidationFailed(await api('/api/events/search?start=2027-02-30&end=2027-13-01'));
  });

  it('creating an event with startsAt invalid and onSaleAt valid is 400, not 500', async () => {
    const body = { name: 'Broken', performerId, venueId, startsAt: '', onSaleAt: '2020-01-01T00:00:00Z', prices: { Floor: 100 } };
    await expectValidationFailed(await api('/api/admin/events', { method: 'POST', token: admin, json: body }));
  });

  it('creating an event with valid dates but another field invalid is 400, not 500', async () => {
    const body = { name: 'Broken', performerId, venueId, startsAt: '2027-03-01T19:00:00Z', onSaleAt: '2027-01-01T00:00:00Z', prices: { Floor: 100 }, currency: false };
    await expectValidationFailed(await api('/api/admin/events', { method: 'POST', token: admin, json: body }));
  });
});
