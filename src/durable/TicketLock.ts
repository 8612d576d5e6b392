import { DurableObject } from 'cloudflare:workers';
import type { Bindings } from '../env';
export class TicketLock extends DurableObject<Bindings> {}
