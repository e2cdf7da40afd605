-- The anchor ../shared/bench/anchor_rfm_duckdb.sql, query unchanged, reading the
-- dataset's Parquet parts (written by `prevoir datasets import`) instead of the CSV:
-- ${IN} is a glob such as STORE/datasets/NAME/orders/**/*.parquet. Timestamps are
-- stored as UTC instants; the session zone is UTC so they compare as the CSV's did.
SET TimeZone = 'UTC';
SET threads = ${THREADS};
SET preserve_insertion_order = false;

CREATE TEMP TABLE lines AS
SELECT CAST(customer_id AS BIGINT) AS customer_id, CAST(order_id AS BIGINT) AS order_id,
       CAST("timestamp" AS TIMESTAMP) AS ts, category, quantity * unit_price AS amount
FROM read_parquet('${IN}');

COPY (
  WITH hist AS (
    SELECT * FROM lines WHERE ts < TIMESTAMP '${CUTOFF}'
  ),
  orders AS (
    SELECT customer_id, order_id, min(ts) AS ts, sum(amount) AS amount
    FROM hist GROUP BY customer_id, order_id
  ),
  per_cust AS (
    SELECT customer_id,
      CAST(floor((epoch(TIMESTAMP '${CUTOFF}') - epoch(max(ts))) / 86400) AS BIGINT) AS recency_days,
      count(*) FILTER (WHERE ts >= TIMESTAMP '${CUTOFF}' - INTERVAL 30 DAY)  AS frequency_30,
      count(*) FILTER (WHERE ts >= TIMESTAMP '${CUTOFF}' - INTERVAL 90 DAY)  AS frequency_90,
      count(*) FILTER (WHERE ts >= TIMESTAMP '${CUTOFF}' - INTERVAL 365 DAY) AS frequency_365,
      coalesce(sum(amount) FILTER (WHERE ts >= TIMESTAMP '${CUTOFF}' - INTERVAL 30 DAY), 0)  AS monetary_30,
      coalesce(sum(amount) FILTER (WHERE ts >= TIMESTAMP '${CUTOFF}' - INTERVAL 90 DAY), 0)  AS monetary_90,
      coalesce(sum(amount) FILTER (WHERE ts >= TIMESTAMP '${CUTOFF}' - INTERVAL 365 DAY), 0) AS monetary_365,
      CAST(floor((epoch(TIMESTAMP '${CUTOFF}') - epoch(min(ts))) / 86400) AS BIGINT) AS tenure_days
    FROM orders GROUP BY customer_id
  ),
  cats AS (
    SELECT customer_id, count(DISTINCT category) AS distinct_categories
    FROM hist GROUP BY customer_id
  ),
  lab AS (
    SELECT DISTINCT customer_id FROM lines
    WHERE ts >= TIMESTAMP '${CUTOFF}' AND ts < TIMESTAMP '${CUTOFF}' + INTERVAL ${LABEL_DAYS} DAY
  )
  SELECT p.customer_id, recency_days, frequency_30, frequency_90, frequency_365,
         round(monetary_30, 2) AS monetary_30, round(monetary_90, 2) AS monetary_90,
         round(monetary_365, 2) AS monetary_365, tenure_days, distinct_categories,
         CASE WHEN lab.customer_id IS NULL THEN 0 ELSE 1 END AS label
  FROM per_cust p
  JOIN cats USING (customer_id)
  LEFT JOIN lab ON lab.customer_id = p.customer_id
  ORDER BY p.customer_id
) TO '${OUT}' (HEADER, DELIMITER ',');
