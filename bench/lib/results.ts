// What every benchmark records: its figures, merged by key into bench/results.json (a full run
// under the bench's name, a --quick run under "<name> --quick", so a quick run never replaces a
// full one), and printed as a last line `RESULT {...}` for whoever runs it (bench/run-all.ts, CI
// logs). bench/report.ts turns results.json into bench/RESULTS.md.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export const RESULTS_JSON = fileURLToPath(new URL('../results.json', import.meta.url));

/** `--quick` on the command line: a small run that checks correctness only. */
export const quick = (): boolean => process.argv.includes('--quick');

/** One figure: its value and, when issue 9 sets one, its target and whether it was met. */
export interface Figure {
  label: string;
  value: number | string;
  unit?: string;
  /** Median of rounds, with their min and max, where the bench has rounds. */
  min?: number;
  max?: number;
  rounds?: number;
  target?: string;
  met?: boolean;
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  workerd: string;
  wrangler: string;
  miniflare: string;
}

export interface BenchResult {
  bench: string;
  quick: boolean;
  recordedAt: string;
  /** What the bench was run with (its options). */
  options: Record<string, unknown>;
  machine: Machine;
  /** The 1-minute load average (and per CPU) when the bench began and ended: a loaded machine's numbers are not quiet ones. */
  load: { start: number; end: number; cpus: number };
  figures: Figure[];
  /** Correctness checks (a --quick run asserts only these). */
  checks?: Array<{ label: string; value: number; expected: number; ok: boolean }>;
  /** Series to draw (the on-sale's progress over time). */
  series?: Record<string, unknown>;
}

function versionOf(pkg: string): string {
  try {
    const require = createRequire(import.meta.url);
    return (require(`${pkg}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function machine(): Machine {
  const list = cpus();
  return {
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    workerd: versionOf('workerd'),
    wrangler: versionOf('wrangler'),
    miniflare: versionOf('miniflare'),
  };
}

const startLoad = loadavg()[0]!;

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** A figure that is the median of rounds, with their min and max. */
export function roundsFigure(label: string, values: number[], unit: string, extra: Partial<Figure> = {}): Figure {
  return { label, value: median(values), min: Math.min(...values), max: Math.max(...values), rounds: values.length, unit, ...extra };
}

export function readResults(): Record<string, BenchResult> {
  if (!existsSync(RESULTS_JSON)) return {};
  return JSON.parse(readFileSync(RESULTS_JSON, 'utf8')) as Record<string, BenchResult>;
}

/** Merges this bench's result into bench/results.json and prints its RESULT line. */
export function recordResult(bench: string, result: Omit<BenchResult, 'bench' | 'quick' | 'recordedAt' | 'machine' | 'load'>): BenchResult {
  const full: BenchResult = {
    bench,
    quick: quick(),
    recordedAt: new Date().toISOString(),
    machine: machine(),
    load: { start: startLoad, end: loadavg()[0]!, cpus: cpus().length },
    ...result,
  };
  const key = full.quick ? `${bench} --quick` : bench;
  const all = readResults();
  all[key] = full;
  // Written whole and renamed, so a bench killed mid-write leaves the file as it was.
  const temporary = `${RESULTS_JSON}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(Object.fromEntries(Object.entries(all).sort(([a], [b]) => a.localeCompare(b))), null, 2)}\n`);
  renameSync(temporary, RESULTS_JSON);
  const { series: _series, ...line } = full;
  console.log(`RESULT ${JSON.stringify(line)}`);
  return full;
}
