// bench/RESULTS.md (and bench/onsale.svg) from bench/results.json: the machine, every figure
// against its issue 9 target, correctness checks, and the on-sale over time as a hand-written SVG.
// Run by bench/run-all.ts after the benches; alone: npx tsx bench/report.ts [--quick-only]
// (--quick-only: from the --quick entries alone, e.g. for a commit from a machine that is not quiet).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readResults, type BenchResult } from './lib/results';

const RESULTS_MD = fileURLToPath(new URL('./RESULTS.md', import.meta.url));
const CHART = 'onsale.svg';
const CHART_PATH = fileURLToPath(new URL(`./${CHART}`, import.meta.url));

/** Issue 9's targets, in the order of the issue; each names the bench that measures it. */
const TARGETS: Array<{ bench: string; target: string }> = [
  { bench: 'holds', target: 'holds/s at 80k ≥ 0.9 × at 2k, and ≥ 0.5 × refused' },
  { bench: 'reads', target: 'cached 200-seat view ≥ 0.8 × trivial; availability at 80k ≥ 0.8 × trivial' },
  { bench: 'seat-stream', target: '10,000 watchers: hold → watcher p99 ≤ 250 ms' },
  { bench: 'waiting-room', target: '15,000 sockets: sold-out broadcast ≤ 2 s' },
  { bench: 'queue-tick', target: 'tick at 100k in line ≤ 2 × at 1k' },
  { bench: 'onsale', target: '0 oversold, 0 5xx, 0 FIFO violations; admissions per minute within ±5 % of the configured rate' },
  { bench: 'search', target: '(no numeric target in issue 9)' },
];

const number = (value: number | string) => (typeof value === 'number' ? (Math.abs(value) >= 100 ? Math.round(value).toLocaleString('en') : String(Math.round(value * 100) / 100)) : value);

/** A polyline chart of the on-sale: seats sold, admitted and in line against seconds since the sale began. */
function chart(points: Array<{ t: number; sold: number; admitted: number; inLine: number }>, seats: number, buyers: number): string {
  const width = 720;
  const height = 360;
  const left = 60;
  const right = 20;
  const top = 20;
  const bottom = 50;
  const maxT = Math.max(1, ...points.map((p) => p.t));
  const maxY = Math.max(1, seats, buyers, ...points.map((p) => Math.max(p.sold, p.admitted, p.inLine)));
  const x = (t: number) => (left + (t / maxT) * (width - left - right)).toFixed(1);
  const y = (v: number) => (top + (1 - v / maxY) * (height - top - bottom)).toFixed(1);
  const line = (key: 'sold' | 'admitted' | 'inLine', colour: string) =>
    `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${points.map((p) => `${x(p.t)},${y(p[key])}`).join(' ')}"/>`;
  const ticksX = Array.from({ length: 6 }, (_, i) => (maxT * i) / 5);
  const ticksY = Array.from({ length: 5 }, (_, i) => (maxY * i) / 4);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    ...ticksY.map((v) => `<line x1="${left}" x2="${width - right}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="${left - 6}" y="${Number(y(v)) + 4}" text-anchor="end">${Math.round(v).toLocaleString('en')}</text>`),
    ...ticksX.map((t) => `<text x="${x(t)}" y="${height - bottom + 16}" text-anchor="middle">${Math.round(t)} s</text>`),
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${height - bottom}" stroke="#444"/><line x1="${left}" x2="${width - right}" y1="${height - bottom}" y2="${height - bottom}" stroke="#444"/>`,
    line('sold', '#1b7f3b'),
    line('admitted', '#1f5fbf'),
    line('inLine', '#c0392b'),
    `<text x="${left}" y="${height - 12}"><tspan fill="#1b7f3b">■ seats sold</tspan>  <tspan fill="#1f5fbf">■ buyers admitted</tspan>  <tspan fill="#c0392b">■ buyers in line</tspan>  (seconds since the sale began)</text>`,
    `</svg>`,
    '',
  ].join('\n');
}

function section(result: BenchResult): string[] {
  const lines: string[] = [];
  const loadPerCpu = result.load.start / result.load.cpus;
  lines.push(
    `### ${result.bench}${result.quick ? ' — --quick run (a correctness check, not a measurement)' : ''}`,
    '',
    `Recorded ${result.recordedAt}; options ${'`'}${JSON.stringify(result.options)}${'`'}; load average ${result.load.start.toFixed(2)} at the start, ${result.load.end.toFixed(2)} at the end ` +
      `on ${result.load.cpus} CPUs${loadPerCpu > 0.5 ? ' — **a loaded machine: these are not quiet numbers**' : ''}.`,
    '',
    '| figure | value | min – max (rounds) | target | met |',
    '|---|---|---|---|---|',
  );
  for (const f of result.figures) {
    const range = f.min !== undefined ? `${number(f.min)} – ${number(f.max!)} (${f.rounds})` : '';
    // A --quick run's speeds are not measurements: no verdict on them.
    const met = f.met === undefined ? '' : result.quick ? '—' : f.met ? 'yes' : '**no**';
    lines.push(`| ${f.label} | ${number(f.value)}${f.unit ? ` ${f.unit}` : ''} | ${range} | ${f.target ?? ''} | ${met} |`);
  }
  if (result.checks?.length) {
    lines.push('', 'Correctness:', '');
    for (const c of result.checks) lines.push(`- ${c.ok ? '✓' : '✗ **FAILED**'} ${c.label}: ${c.value} (expected ${c.expected})`);
  }
  lines.push('');
  return lines;
}

export function writeReport(options: { quickOnly?: boolean } = {}): void {
  const results = Object.fromEntries(Object.entries(readResults()).filter(([, r]) => !options.quickOnly || r.quick));
  const all = Object.values(results);
  if (all.length === 0) {
    console.log('bench/results.json holds no results yet: nothing to report');
    return;
  }
  const machine = all[0]!.machine;
  const lines: string[] = [
    '# Benchmark results',
    '',
    'Generated by `bench/report.ts` from `bench/results.json` (each bench merges its own figures there;',
    '`npm run bench` runs them all and regenerates this file). Figures of benches with rounds are the',
    'median of the rounds, with their min and max. Runs marked --quick are small correctness checks (what CI',
    'runs): their speeds say nothing. A run whose load average was above half the CPUs is marked as loaded.',
    '',
    '## Machine',
    '',
    `- CPUs: ${machine.cpus} × ${machine.cpuModel}`,
    `- memory: ${machine.memoryGiB} GiB`,
    `- Node ${machine.node}, workerd ${machine.workerd}, wrangler ${machine.wrangler}, Miniflare ${machine.miniflare}`,
    '',
    '## Targets (issue 9)',
    '',
    '| bench | target | full run | --quick run |',
    '|---|---|---|---|',
  ];
  const verdict = (result: BenchResult | undefined) => {
    if (!result) return 'not run';
    const targets = result.figures.filter((f) => f.met !== undefined);
    const checks = result.checks ?? [];
    const failed = [...(result.quick ? [] : targets.filter((f) => !f.met).map((f) => f.label)), ...checks.filter((c) => !c.ok).map((c) => c.label)];
    const measured = targets.length ? `${targets.length - targets.filter((f) => !f.met).length}/${targets.length} targets met` : 'target not measured at its size';
    return `${result.quick ? '' : measured}${failed.length ? `${result.quick ? '' : '; '}failed: ${failed.join(', ')}` : result.quick ? 'checks pass' : ''}`;
  };
  for (const { bench, target } of TARGETS) lines.push(`| ${bench} | ${target} | ${verdict(results[bench])} | ${verdict(results[`${bench} --quick`])} |`);
  lines.push('');

  const onsale = results.onsale ?? results['onsale --quick'];
  const points = onsale?.series?.onsale as Array<{ t: number; sold: number; admitted: number; inLine: number }> | undefined;
  if (onsale && points?.length) {
    writeFileSync(CHART_PATH, chart(points, Number(onsale.options.seats), Number(onsale.options.buyers)));
    lines.push(
      '## The on-sale over time',
      '',
      `![seats sold, buyers admitted and in line over the on-sale](${CHART})`,
      '',
      `From the ${onsale.quick ? '--quick ' : ''}run of ${onsale.recordedAt}: ${Number(onsale.options.seats).toLocaleString('en')} seats, ${Number(onsale.options.buyers).toLocaleString('en')} buyers, ` +
        `admitPerMinute ${onsale.options.admitPerMinute}. Seats sold from the availability once a second; admitted from the admission tokens' ticks; in line = joined − admitted.`,
      '',
    );
  }

  lines.push('## Full runs', '');
  const full = all.filter((r) => !r.quick);
  if (full.length === 0) lines.push('None recorded yet.', '');
  for (const result of full) lines.push(...section(result));
  lines.push('## --quick runs (correctness only)', '');
  for (const result of all.filter((r) => r.quick)) lines.push(...section(result));
  writeFileSync(RESULTS_MD, lines.join('\n'));
  console.log(`wrote ${RESULTS_MD}${onsale && points?.length ? ` and ${CHART_PATH}` : ''}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) writeReport({ quickOnly: process.argv.includes('--quick-only') });
