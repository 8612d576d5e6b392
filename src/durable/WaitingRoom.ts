import { DurableObject } from 'cloudflare:workers';
import type { Bindings } from '../env';

/**
 * One per event: the virtual waiting room for hot on-sales (queue over hibernatable WebSockets,
 * signed admission tokens). Declared and bound now so the deployed class exists from the first
 * migration; its behaviour is built by the live-seats-and-waiting-room issue.
 */
export class WaitingRoom extends DurableObject<Bindings> {}
