// `npm run bench [-- flags]`: every benchmark in turn, each in its own process with the flags given
// (so `npm run bench -- --quick` runs each one's --quick version), its output shown as it comes with
// the bench's name in front, then bench/RESULTS.md regenerated from bench/results.json (where each
// bench merged its figures). Exits non-zero when any bench failed (a --quick run fails on a broken
// correctness check, never on speed).
//
//   --only holds,onsale   run just these (names below)
//   --timeout-minutes M   stop a bench that runs longer (SIGTERM, so it removes its database and
//                         workerd; SIGKILL 15 s later): 4 with --quick, else 60
// Full runs measure the targets at their sizes: seat-stream gets --watchers 10000 and waiting-room
// --sockets 15000 unless the flags say otherwise. The search bench needs a Postgres server
// (DATABASE_URL or 127.0.0.1:5432) and is skipped without one.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isReachable } from '../scripts/lib/postgres-server';
import { writeReport } from './report';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BENCHES: Array<{ name: string; file: string; full?: string[]; needsPostgresServer?: boolean }> = [
  { name: 'holds', file: 'bench/holds.ts' },
  { name: 'reads', file: 'bench/reads.ts' },
  { name: 'seat-stream', file: 'bench/seat-stream.ts', full: ['--watchers', '10000', '--relay-share'] },
  { name: 'waiting-room', file: 'bench/waiting-room.ts', full: ['--sockets', '15000'] },
  { name: 'queue-tick', file: 'bench/queue-tick.ts' },
  // Plain Node (no workerd): a line of 1,000,000 over 16 shards and a coordinator, beside 10,000.
  { name: 'queue-shards', file: 'bench/queue-shards.ts' },
  { name: 'search', file: 'bench/search.ts', needsPostgresServer: true },
  { name: 'onsale', file: 'bench/onsale.ts' },
];

/** Takes `--name value` out of the arguments. */
function take(args: string[], name: string): string | null {
  const at = args.indexOf(`--${name}`);
  if (at < 0) return null;
  const [, value] = args.splice(at, 2);
  return value ?? null;
}
const flags = process.argv.slice(2);
const onlyList = take(flags, 'only');
const only = onlyList ? new Set(onlyList.split(',')) : null;
const quick = flags.includes('--quick');
const timeoutMs = Number(take(flags, 'timeout-minutes') ?? (quick ? 4 : 60)) * 60_000;
const selected = BENCHES.filter((b) => !only || only.has(b.name));
if (only && selected.length !== only.size) throw new Error(`--only: the benches are ${BENCHES.map((b) => b.name).join(', ')}`);

const seconds = (ms: number) => `${(ms / 1000).toFixed(0)} s`;

function run(name: string, file: string, args: string[]): Promise<{ code: number; result: string | null }> {
  return new Promise((resolve) => {
    const child = spawn(fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url)), [file, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let result: string | null = null;
    const prefix = (stream: NodeJS.ReadableStream, out: NodeJS.WriteStream) => {
      let buffer = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, end);
          buffer = buffer.slice(end + 1);
          if (line.startsWith('RESULT ')) result = line.slice(7);
          // workerd's own warnings about alarms are noise here.
          else if (!line.startsWith('workerd/io/')) out.write(`[${name}] ${line}\n`);
        }
      });
      stream.on('end', () => buffer && out.write(`[${name}] ${buffer}\n`));
    };
    prefix(child.stdout, process.stdout);
    prefix(child.stderr, process.stderr);
    const timer = setTimeout(() => {
      console.error(`[${name}] still running after ${seconds(timeoutMs)}: stopping it`);
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, result });
    });
  });
}

const started = Date.now();
const outcomes: Array<{ name: string; ok: boolean; ms: number; note: string }> = [];
const serverReachable = !!process.env.DATABASE_URL || (process.env.TEST_DATABASE !== 'pglite' && (await isReachable('127.0.0.1', 5432)));
for (const [i, bench] of selected.entries()) {
  const heading = `== ${i + 1}/${selected.length} ${bench.name}${quick ? ' --quick' : ''} (${seconds(Date.now() - started)} so far)`;
  if (bench.needsPostgresServer && !serverReachable) {
    console.log(`${heading}: skipped, no Postgres server (DATABASE_URL or 127.0.0.1:5432)`);
    outcomes.push({ name: bench.name, ok: true, ms: 0, note: 'skipped: no Postgres server' });
    continue;
  }
  console.log(heading);
  const extra = !quick && bench.full && !flags.includes(bench.full[0]!) ? bench.full : [];
  const benchStarted = Date.now();
  const { code, result } = await run(bench.name, bench.file, [...flags, ...extra]);
  const ms = Date.now() - benchStarted;
  outcomes.push({ name: bench.name, ok: code === 0, ms, note: code === 0 ? (result ? 'recorded' : 'no RESULT line') : `exit ${code}` });
  console.log(`== ${bench.name}: ${code === 0 ? 'ok' : `FAILED (exit ${code})`} in ${seconds(ms)}`);
}

writeReport();
console.log(`\nbenchmarks${quick ? ' --quick' : ''}, ${seconds(Date.now() - started)} in all:`);
for (const o of outcomes) console.log(`  ${o.ok ? 'ok    ' : 'FAILED'} ${o.name.padEnd(13)} ${seconds(o.ms).padStart(6)}  ${o.note}`);
process.exit(outcomes.every((o) => o.ok) ? 0 : 1);
