import { Hono } from 'hono';
import type { AppEnv } from './env';
import { healthRoutes } from './routes/health';
export { TicketLock } from './durable/TicketLock';
export { WaitingRoom } from './durable/WaitingRoom';

const app = new Hono<AppEnv>();
app.route('/api/health', healthRoutes);
export default app;
