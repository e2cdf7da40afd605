// Runs features_rfm_duckdb.sql with DuckDB's Node API (@duckdb/node-api).
// The package is looked up in $DUCKDB_NODE_DIR (default /tmp/duckdb-node), where
//   cd /tmp/duckdb-node && npm init -y && npm install @duckdb/node-api@1.5.6-r.1
// installed it.
// Usage: node anchor_rfm_duckdb.mjs --in FILE --out FILE [--cutoff 2024-12-01] [--label-days 30] [--threads 2]
// Prints one JSON line with in-process phase timings.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = process.env.DUCKDB_NODE_DIR || '/tmp/duckdb-node';
const require = createRequire(join(dir, 'package.json'));
const { DuckDBInstance, version } = require('@duckdb/node-api');

const args = { cutoff: '2024-12-01', 'label-days': '30', threads: '2' };
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
if (!args.in || !args.out) { console.error('need --in and --out'); process.exit(2); }

const here = dirname(fileURLToPath(import.meta.url));
const sql = readFileSync(join(here, 'features_rfm_duckdb.sql'), 'utf8')
  .replaceAll('${IN}', args.in).replaceAll('${OUT}', args.out)
  .replaceAll('${CUTOFF}', args.cutoff).replaceAll('${LABEL_DAYS}', args['label-days'])
  .replaceAll('${THREADS}', args.threads);
// split on ';' at end of line (the SQL file has no ';' inside statements)
const stmts = sql.split(/;\s*$/m).map(s => s.replace(/^\s*--.*$/mg, '').trim()).filter(s => s.length);

const t0 = performance.now();
const inst = await DuckDBInstance.create(':memory:', { threads: args.threads });
const con = await inst.connect();
const times = [];
for (const s of stmts) {
  const t = performance.now();
  await con.run(s);
  times.push(+((performance.now() - t) / 1000).toFixed(3));
}
const t1 = performance.now();
const n = (await con.runAndReadAll(`SELECT count(*) FROM lines`)).getRows()[0][0];
console.log(JSON.stringify({
  tool: 'duckdb-node', duckdb: version(), rows_in: Number(n),
  threads: args.threads, statement_s: times, total_s: +((t1 - t0) / 1000).toFixed(3),
}));
