import type { LocalRuntime } from '../../scripts/lib/local-runtime';

/** Stopped (Ctrl-C, or bench/run-all.ts's timeout): the runtime's database and workerd go too. */
export function closeOnSignal(runtime: LocalRuntime): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`${signal}: closing the runtime`);
      runtime.close().finally(() => process.exit(130));
    });
  }
}
