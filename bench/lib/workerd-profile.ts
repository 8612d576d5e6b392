// `--perf` for bench/seat-stream.ts: samples the workerd process with Linux perf (perf record, no
// call graphs) while the holds run, and sums the samples by the layer their symbol belongs to, so
// a bench can say which layer of the runtime spends the time. Null where perf is missing or not allowed.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The first matching layer takes the sample; the order matters (jsg:: is workerd's JS glue, before workerd::). */
const LAYERS: Array<[string, RegExp]> = [
  ['kernel (sockets, scheduling)', /\[k\]/],
  ['JS code, JIT-compiled (the relay\'s and the route\'s own code)', /^\[JIT\]/],
  ['V8 runtime + workerd JS glue (promises, handles, GC, jsg)', /v8::|Builtins_|jsg::/],
  ['Streams API (writers, IdentityTransformStream, pumpTo)', /workerd::api::/],
  ['RPC byte streams (capnp)', /capnp::/],
  ['HTTP output (kj Http*)', /Http/],
  ['kj pipes, event loop, promises', /kj::/],
  ['malloc', /tcmalloc|malloc|free/],
  ['other workerd (IoContext, gates)', /workerd::/],
];

export interface Profile {
  samples: number;
  layers: Array<{ layer: string; percent: number }>;
  top: Array<{ symbol: string; percent: number }>;
}

export function startProfile(pid: number): { stop(): Promise<Profile | null> } | null {
  try {
    execFileSync('perf', ['--version'], { stdio: 'ignore' });
  } catch {
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), 'seat-stream-perf-'));
  const data = join(dir, 'perf.data');
  const recorder: ChildProcess = spawn('perf', ['record', '-F', '499', '-p', String(pid), '-o', data], { stdio: 'ignore' });
  return {
    async stop() {
      try {
        const exited = new Promise<number | null>((resolve) => recorder.once('exit', (code) => resolve(code)));
        recorder.kill('SIGINT');
        await exited;
        const text = execFileSync('perf', ['report', '-i', data, '--stdio', '--sort', 'dso,sym'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024 });
        // "# Samples: 12K of event 'cpu-clock'"
        const [, count, scale] = /# Samples: ([\d.]+)([KM]?)/.exec(text) ?? [];
        const samples = Math.round(Number(count ?? 0) * (scale === 'K' ? 1e3 : scale === 'M' ? 1e6 : 1));
        const sums = new Map<string, number>();
        const top: Profile['top'] = [];
        for (const line of text.split('\n')) {
          const match = /^\s*([\d.]+)%\s+(\S+)\s+(.*)$/.exec(line);
          if (!match) continue;
          const percent = Number(match[1]);
          const symbol = `${match[2]} ${match[3]}`;
          if (top.length < 12) top.push({ symbol: symbol.slice(0, 140), percent });
          const layer = LAYERS.find(([, pattern]) => pattern.test(symbol))?.[0] ?? 'other';
          sums.set(layer, (sums.get(layer) ?? 0) + percent);
        }
        const layers = [...sums].map(([layer, percent]) => ({ layer, percent: Math.round(percent * 10) / 10 })).sort((a, b) => b.percent - a.percent);
        return samples ? { samples, layers, top } : null;
      } catch {
        return null;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
