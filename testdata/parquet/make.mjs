// make.mjs writes the Parquet fixtures of this folder with DuckDB, a writer
// other than parquet-go, so prevoir's reading of Parquet is checked against
// files as other tools make them (datasets/parquettext_test.go and
// datasets/table/parquet_test.go read them).
//
//   mkdir -p /tmp/duck && cd /tmp/duck && npm install @duckdb/node-api
//   cd REPO && cp testdata/parquet/make.mjs /tmp/duck/ && node /tmp/duck/make.mjs testdata/parquet
//
// (ES modules resolve packages from the script's folder, so the script runs
// beside node_modules; its argument is the output folder.) Made with
// @duckdb/node-api 1.5.6 (DuckDB v1.5.6).
import { DuckDBInstance } from '@duckdb/node-api';
import path from 'node:path';

const out = process.argv[2] || '.';
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();

// One column per type; three rows: typical values, extremes, nulls.
await c.run(`
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE t AS SELECT * FROM (VALUES
  (1, -8::TINYINT, 200::UTINYINT, -300::SMALLINT, 60000::USMALLINT,
   -2000000000::INTEGER, 4000000000::UINTEGER, -9000000000000000000::BIGINT, 18000000000000000000::UBIGINT,
   12.50::DECIMAL(4,2), -1234567.891::DECIMAL(18,3), 12345678901234567890.1234567890::DECIMAL(38,10),
   DATE '2024-02-29',
   TIMESTAMP '2024-03-01 12:30:00.5', TIMESTAMPTZ '2024-03-01 12:30:00.25+00',
   '2024-03-01 12:30:00.125'::TIMESTAMP_MS, '2024-03-01 12:30:00.123456789'::TIMESTAMP_NS,
   TIME '08:26:00.5',
   true, 0.1::FLOAT, 0.1::DOUBLE,
   'caf\u00e9', 'happy'::mood, '123e4567-e89b-12d3-a456-426614174000'::UUID, '{"a": 1}'::JSON),
  (2, 127::TINYINT, 255::UTINYINT, 32767::SMALLINT, 65535::USMALLINT,
   2147483647::INTEGER, 4294967295::UINTEGER, 9223372036854775807::BIGINT, 18446744073709551615::UBIGINT,
   -0.05::DECIMAL(4,2), 0.001::DECIMAL(18,3), -0.0000000001::DECIMAL(38,10),
   DATE '1969-12-31',
   TIMESTAMP '1969-12-31 23:59:59', TIMESTAMPTZ '2010-12-01 08:26:00+00',
   '1970-01-01 00:00:00'::TIMESTAMP_MS, '2262-04-11 23:47:16'::TIMESTAMP_NS,
   TIME '23:59:59',
   false, -1.5::FLOAT, 1e300::DOUBLE,
   '', 'sad'::mood, '00000000-0000-0000-0000-000000000000'::UUID, '[]'::JSON),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)
) AS v(id, i8, u8, i16, u16, i32, u32, i64, u64, dec_i32, dec_i64, dec_flba,
       day, ts_us, ts_us_utc, ts_ms, ts_ns, tod, flag, f32, f64, txt, mood, uid, doc);
`);
// The same rows twice: with dictionary pages (DuckDB's default for
// repeated values), and with plain pages only.
await c.run(`COPY (SELECT t.* FROM t, range(40) ORDER BY id) TO '${path.join(out, 'types_dict.parquet')}' (FORMAT parquet)`);
await c.run(`COPY (SELECT * FROM t ORDER BY id) TO '${path.join(out, 'types_plain.parquet')}' (FORMAT parquet, DICTIONARY_SIZE_LIMIT 1)`);
// An orders file as a pipeline would export one for import: unsigned ids,
// a FIXED_LEN_BYTE_ARRAY decimal price, a UTC timestamp.
await c.run(`COPY (SELECT (4000000000 + i % 3)::UINTEGER AS customer_id,
                          'O' || (i // 2) AS order_id,
                          TIMESTAMPTZ '2024-03-01 12:00:00+00' + INTERVAL (i) MINUTE AS ts,
                          'P' || (i % 5) AS product_id,
                          (i % 4 + 1)::SMALLINT AS quantity,
                          (1234567890123.45 + i)::DECIMAL(20,2) AS unit_price
                   FROM range(10) r(i)) TO '${path.join(out, 'orders_duckdb.parquet')}' (FORMAT parquet)`);
// A header and no rows.
await c.run(`COPY (SELECT * FROM t WHERE false) TO '${path.join(out, 'types_empty.parquet')}' (FORMAT parquet)`);
