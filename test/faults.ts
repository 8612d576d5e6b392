// The local Neon proxy's fault switch (scripts/lib/local-neon-proxy.ts) for the files of the
// `database-faults` project (vitest.config.ts): their Worker reaches the proxy under a scope of its
// own, so taking Postgres away from it, or slowing it down, leaves every other test file alone.
import { api, env, signUp } from './helpers';

const proxy = env.LOCAL_NEON_PROXY!;

/** The same proxy outside the fault scope: the test's own view of Postgres while its Worker's is down or slow. */
export const observer = { ...env, LOCAL_NEON_PROXY: proxy.split('/')[0]! };

/** A delay no step waits out: a write held this long is stalled until the delay is lowered. */
export const STALL_MS = 600_000;

export interface FaultState {
  scope: string;
  databaseDown: boolean;
  delayMs: number;
  /** Messages of this scope's sessions slow mode is holding right now. */
  heldMessages: number;
}

/** Reads the switch, or changes it (`delayMs` is slow mode: each message of a session held that long). */
export async function faults(change?: { databaseDown?: boolean; delayMs?: number }): Promise<FaultState> {
  const response = await fetch(`http://${proxy}/__faults`, change ? { method: 'POST', body: JSON.stringify(change) } : undefined);
  if (response.status !== 200) throw new Error(`fault switch answered ${response.status}: ${await response.text()}`);
  const state = (await response.json()) as FaultState;
  // A switch outside any scope would take the database away from every test file at once.
  if (state.scope === '') throw new Error('this file must run in the database-faults project (vitest.config.ts FAULT_INJECTION_TESTS)');
  if (change?.databaseDown !== undefined && state.databaseDown !== change.databaseDown) throw new Error(`database still ${state.databaseDown ? 'down' : 'up'}`);
  if (change?.delayMs !== undefined && state.delayMs !== change.delayMs) throw new Error(`delay is ${state.delayMs} ms, not ${change.delayMs}`);
  return state;
}

export const setDatabaseDown = (databaseDown: boolean) => faults({ databaseDown });
export const setDelay = (delayMs: number) => faults({ delayMs });
export const clearFaults = () => faults({ databaseDown: false, delayMs: 0 });

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A signed-in buyer who has been browsing: their session was checked against Postgres a moment
 * ago (src/auth checks a session at most once a minute per isolate), as a buyer's is when an
 * outage or a slow spell starts in the middle of their visit.
 */
export async function browsingBuyer(): Promise<{ token: string; user: { id: string } }> {
  const buyer = await signUp();
  const me = await api('/api/me', { token: buyer.token });
  if (me.status !== 200) throw new Error(`GET /api/me answered ${me.status}`);
  return buyer;
}
