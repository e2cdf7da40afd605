// prevoir's DuckDB anchor, through DuckDB's Node package (@duckdb/node-api),
// which bench/setup.sh installs into $DUCKDB_NODE_DIR (outside the checkout).
//
//   node duckdb.mjs copy --in FILE.csv --out FILE.parquet [--threads 2]
//       CSV -> zstd Parquet as a user would write it:
//       COPY (SELECT * FROM read_csv(...)) TO ... (FORMAT parquet, COMPRESSION zstd)
//   node duckdb.mjs check --in 'DIR/**/*.parquet'
//       counts and sums of Parquet parts, as JSON (to check prevoir's import)
//   node duckdb.mjs rfm --in 'DIR/**/*.parquet' --out FILE.csv [--cutoff 2024-12-01] [--label-days 30] [--threads 2]
//       RFM features and label per customer (rfm.sql beside this file)
//   node duckdb.mjs version
//
// Each command prints one JSON line on stdout.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const nodeDir = process.env.DUCKDB_NODE_DIR;
if (!nodeDir) {
  console.error('duckdb.mjs: DUCKDB_NODE_DIR is not set (bench/setup.sh sets it)');
  process.exit(2);
}
const { DuckDBInstance, version } = createRequire(join(nodeDir, 'package.json'))('@duckdb/node-api');

const [cmd, ...rest] = process.argv.slice(2);
const opt = { threads: '2', cutoff: '2024-12-01', 'label-days': '30' };
for (let i = 0; i < rest.length; i += 2) {
  if (!rest[i].startsWith('--') || rest[i + 1] === undefined) {
    console.error(`duckdb.mjs: bad argument ${rest[i]}`);
    process.exit(2);
  }
  opt[rest[i].slice(2)] = rest[i + 1];
}
const need = (...names) => {
  for (const n of names) {
    if (!opt[n]) { console.error(`duckdb.mjs ${cmd}: --${n} is required`); process.exit(2); }
  }
};
const lit = (s) => `'${String(s).replaceAll("'", "''")}'`;
const secs = (t0) => +((performance.now() - t0) / 1000).toFixed(3);

async function connect() {
  const db = await DuckDBInstance.create(':memory:', { threads: opt.threads });
  return db.connect();
}

async function first(con, sql) {
  return (await con.runAndReadAll(sql)).getRowObjectsJson()[0];
}

const commands = {
  async version() {
    return { duckdb: version() };
  },
  async copy() {
    need('in', 'out');
    const con = await connect();
    const t0 = performance.now();
    await con.run(`COPY (SELECT * FROM read_csv(${lit(opt.in)})) TO ${lit(opt.out)} (FORMAT parquet, COMPRESSION zstd)`);
    const copy_s = secs(t0);
    const r = await first(con, `SELECT count(*)::BIGINT AS n FROM read_parquet(${lit(opt.out)})`);
    return { duckdb: version(), threads: opt.threads, rows: Number(r.n), copy_s };
  },
  async check() {
    need('in');
    const con = await connect();
    const src = `read_parquet(${lit(opt.in)})`;
    const totals = await first(con, `SELECT count(*)::BIGINT AS lines, count(DISTINCT customer_id)::BIGINT AS customers,
        round(sum(quantity * unit_price), 2)::DOUBLE AS value FROM ${src}`);
    return { duckdb: version(), lines: Number(totals.lines), customers: Number(totals.customers), value: Number(totals.value) };
  },
  async rfm() {
    need('in', 'out');
    if (!/^\d{4}-\d{2}-\d{2}$/.test(opt.cutoff) || !/^\d+$/.test(opt['label-days']) || !/^\d+$/.test(opt.threads)) {
      console.error('duckdb.mjs rfm: --cutoff is YYYY-MM-DD, --label-days and --threads whole numbers');
      process.exit(2);
    }
    const here = dirname(fileURLToPath(import.meta.url));
    const vars = { IN: lit(opt.in), OUT: lit(opt.out), CUTOFF: opt.cutoff, LABEL_DAYS: opt['label-days'], THREADS: opt.threads };
    // Comments go first (a path may hold '--'); statements end with ';' at the end of a line.
    const sql = readFileSync(join(here, 'rfm.sql'), 'utf8').replace(/--.*$/mg, '')
      .replace(/\{\{(\w+)\}\}/g, (_, k) => vars[k]);
    const stmts = sql.split(/;\s*$/m).map((s) => s.trim()).filter(Boolean);
    const t0 = performance.now();
    const con = await connect();
    const statement_s = [];
    for (const s of stmts) {
      const t = performance.now();
      await con.run(s);
      statement_s.push(secs(t));
    }
    return { duckdb: version(), threads: opt.threads, statement_s, total_s: secs(t0) };
  },
};

if (!commands[cmd]) {
  console.error('usage: node duckdb.mjs copy|check|rfm|version [--flag value ...]');
  process.exit(2);
}
console.log(JSON.stringify(await commands[cmd]()));
