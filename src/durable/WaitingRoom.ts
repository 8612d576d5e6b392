import { DurableObject } from 'cloudflare:workers';
import type { Bindings } from '../env';
export class WaitingRoom extends DurableObject<Bindings> {}
