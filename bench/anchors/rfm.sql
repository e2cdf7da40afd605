-- prevoir's DuckDB anchor for the churn features: what a DuckDB user would
-- write for per-customer RFM features and a return label as of a cutoff C,
-- over the order lines of a prevoir dataset (its Parquet parts).
--
-- Definitions (docs/BENCHMARKS.md): history = lines before C; one row per
-- customer with history, sorted by customer_id;
--   recency_days / tenure_days  whole days from the last / first order to C
--   frequency_N                 orders in [C - N days, C), N = 30, 90, 365
--   monetary_N                  sum of quantity * unit_price over those orders' lines
--   distinct_categories         categories over all history
--   label                       1 if the customer has a line in [C, C + LABEL_DAYS days)
-- duckdb.mjs fills {{IN}} (a quoted glob), {{OUT}} (a quoted path), {{CUTOFF}}
-- (YYYY-MM-DD), {{LABEL_DAYS}} and {{THREADS}}.
SET threads = {{THREADS}};
SET TimeZone = 'UTC';
SET preserve_insertion_order = false;

-- Timestamps are UTC instants; as plain TIMESTAMPs in a UTC session they
-- compare with the cutoff as written.
CREATE TEMP TABLE order_lines AS
SELECT customer_id::BIGINT AS customer_id,
       order_id::BIGINT AS order_id,
       "timestamp"::TIMESTAMP AS ts,
       category,
       quantity * unit_price AS amount
FROM read_parquet({{IN}});

COPY (
  WITH
  baskets AS (   -- one row per order before the cutoff, with its age in seconds
    SELECT customer_id, order_id,
           epoch(TIMESTAMP '{{CUTOFF}}') - epoch(min(ts)) AS age_s,
           sum(amount) AS amount
    FROM order_lines
    WHERE ts < TIMESTAMP '{{CUTOFF}}'
    GROUP BY customer_id, order_id
  ),
  rfm AS (
    SELECT customer_id,
           floor(min(age_s) / 86400)::BIGINT AS recency_days,
           count(*) FILTER (WHERE age_s <= 30 * 86400)  AS frequency_30,
           count(*) FILTER (WHERE age_s <= 90 * 86400)  AS frequency_90,
           count(*) FILTER (WHERE age_s <= 365 * 86400) AS frequency_365,
           coalesce(sum(amount) FILTER (WHERE age_s <= 30 * 86400), 0)  AS monetary_30,
           coalesce(sum(amount) FILTER (WHERE age_s <= 90 * 86400), 0)  AS monetary_90,
           coalesce(sum(amount) FILTER (WHERE age_s <= 365 * 86400), 0) AS monetary_365,
           floor(max(age_s) / 86400)::BIGINT AS tenure_days
    FROM baskets
    GROUP BY customer_id
  ),
  breadth AS (
    SELECT customer_id, count(DISTINCT category) AS distinct_categories
    FROM order_lines
    WHERE ts < TIMESTAMP '{{CUTOFF}}'
    GROUP BY customer_id
  ),
  returned AS (
    SELECT DISTINCT customer_id
    FROM order_lines
    WHERE ts >= TIMESTAMP '{{CUTOFF}}' AND ts < TIMESTAMP '{{CUTOFF}}' + INTERVAL {{LABEL_DAYS}} DAY
  )
  SELECT rfm.customer_id, recency_days, frequency_30, frequency_90, frequency_365,
         round(monetary_30, 2) AS monetary_30,
         round(monetary_90, 2) AS monetary_90,
         round(monetary_365, 2) AS monetary_365,
         tenure_days, distinct_categories,
         (returned.customer_id IS NOT NULL)::INTEGER AS label
  FROM rfm
  JOIN breadth USING (customer_id)
  LEFT JOIN returned ON returned.customer_id = rfm.customer_id
  ORDER BY rfm.customer_id
) TO {{OUT}} (HEADER, DELIMITER ',');
