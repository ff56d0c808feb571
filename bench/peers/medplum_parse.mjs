// Parse-throughput peer for bench/parse.sh: Medplum's Hl7Message.parse
// (@medplum/core, the parser behind @medplum/hl7) over the same messages
// the hub's er7_bench measures, single thread.
//
// Usage: node medplum_parse.mjs WORKLOAD_DIR REPS SECONDS
// Prints one JSON line per workload ("corpus", "oru"): median msgs/s and
// MB/s over REPS timed runs of at least SECONDS each, and how many
// messages the parser refused.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Hl7Message } from '@medplum/core';

const [dir, repsArg, secondsArg] = process.argv.slice(2);
const reps = Number.parseInt(repsArg ?? '5', 10);
const seconds = Number.parseFloat(secondsArg ?? '1');

function load(name) {
  if (name === 'oru') return [readFileSync(join(dir, 'oru.hl7'), 'utf8')];
  const d = join(dir, 'corpus');
  return readdirSync(d).sort().map((f) => readFileSync(join(d, f), 'utf8'));
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

let sink = 0;
for (const name of ['corpus', 'oru']) {
  const msgs = load(name);
  const bytes = msgs.reduce((n, m) => n + Buffer.byteLength(m, 'utf8'), 0);
  let failed = 0;
  const ok = [];
  for (const m of msgs) {
    try {
      sink += Hl7Message.parse(m).segments.length;
      ok.push(m);
    } catch {
      failed++;
    }
  }
  const okBytes = ok.reduce((n, m) => n + Buffer.byteLength(m, 'utf8'), 0);
  const rates = [];
  for (let r = 0; r < reps; r++) {
    let n = 0;
    const t0 = process.hrtime.bigint();
    let elapsed = 0;
    do {
      for (const m of ok) sink += Hl7Message.parse(m).segments.length;
      n++;
      elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
    } while (elapsed < seconds);
    rates.push((n * ok.length) / elapsed);
  }
  const mps = median(rates);
  console.log(JSON.stringify({
    peer: '@medplum/hl7', workload: name, messages: msgs.length, bytes, failed,
    msgs_per_s: mps, mb_per_s: (mps * okBytes) / Math.max(ok.length, 1) / 1e6, reps,
  }));
}
if (sink < 0) console.log(sink);
