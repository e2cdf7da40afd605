// DuckDB anchor for `prevoir datasets import`: CSV -> zstd Parquet with
// COPY (SELECT * FROM read_csv(...)) TO '...parquet', as a user would do it.
// The package is looked up in $DUCKDB_NODE_DIR (default /tmp/duckdb-node):
//   mkdir -p /tmp/duckdb-node && cd /tmp/duckdb-node && npm init -y && npm install @duckdb/node-api@1.5.6-r.1
// Usage: node import_duckdb.mjs --in FILE.csv --out FILE.parquet [--threads 2]
//        node import_duckdb.mjs --check 'DIR/**/*.parquet'   (prints counts and sums as JSON)
import { createRequire } from 'node:module';
import { join } from 'node:path';

const dir = process.env.DUCKDB_NODE_DIR || '/tmp/duckdb-node';
const require = createRequire(join(dir, 'package.json'));
const { DuckDBInstance, version } = require('@duckdb/node-api');

const args = { threads: '2' };
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const inst = await DuckDBInstance.create(':memory:', { threads: args.threads });
const con = await inst.connect();
const q = (s) => s.replaceAll("'", "''");

if (args.check) {
  const rows = (await con.runAndReadAll(`SELECT count(*)::BIGINT AS lines,
      count(DISTINCT customer_id)::BIGINT AS customers,
      round(sum(quantity * unit_price), 2)::DOUBLE AS value,
      min(timestamp)::VARCHAR AS first, max(timestamp)::VARCHAR AS last
    FROM read_parquet('${q(args.check)}')`)).getRowObjectsJson()[0];
  const types = (await con.runAndReadAll(`SELECT line_type, count(*)::BIGINT AS n
    FROM read_parquet('${q(args.check)}') GROUP BY 1 ORDER BY 1`)).getRowObjectsJson();
  console.log(JSON.stringify({ duckdb: version(), ...rows, line_types: types }));
  process.exit(0);
}
if (!args.in || !args.out) { console.error('need --in and --out (or --check GLOB)'); process.exit(2); }
const t0 = performance.now();
await con.run(`COPY (SELECT * FROM read_csv('${q(args.in)}')) TO '${q(args.out)}' (FORMAT parquet, COMPRESSION zstd)`);
const t1 = performance.now();
const n = (await con.runAndReadAll(`SELECT count(*)::BIGINT FROM read_parquet('${q(args.out)}')`)).getRows()[0][0];
console.log(JSON.stringify({ tool: 'duckdb-node', duckdb: version(), threads: args.threads, rows: Number(n), copy_s: +((t1 - t0) / 1000).toFixed(3) }));
