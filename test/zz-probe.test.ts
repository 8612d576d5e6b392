import { it } from 'vitest';
it('probe', async () => {
  const r = new Request('http://x/', { method: 'POST', body: 'abc', headers: { 'Content-Length': '3' } });
  const r2 = new Request('http://x/', { method: 'POST', body: 'abc' });
  console.log('PROBE', r.headers.get('content-length'), r2.headers.get('content-length'), r.headers.has('transfer-encoding'));
});
