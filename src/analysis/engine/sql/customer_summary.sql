-- Customer summary: one row per customer from the transaction lines in [start, as_of).
-- The ONE definition shared by the DuckDB fast path (analysis.aggregate) and the
-- Spark path (analysis.spark); analysis.aggregate._summary_pandas is the pandas
-- reference that the tests hold both against.
--
-- Placeholders (filled by analysis.aggregate.render_sql; dialect-neutral SQL otherwise):
--   {source}     a table, view or subquery holding the transaction lines
--   {id}         customer id column          {date}  date or timestamp column
--   {amount}     net amount column (negative = return)
--   {gp}         amount - cost expression, or NULL when there is no cost column
--   {day}        the dialect's expression for whole days since 1970-01-01 of {date}
--   {window}     extra WHERE conditions: "AND {date} >= TIMESTAMP '...'" etc., or empty
--   {as_of_day}  day number of as_of, or the dialect-neutral default below
-- Days are integers (days since 1970-01-01), so date arithmetic is plain subtraction.
WITH bounds AS (
    SELECT {as_of_day} AS as_of_day
),
per_customer AS (
    SELECT
        customer_id,
        -- a purchase is a line with amount > 0; several lines on one day are one purchase
        MIN(CASE WHEN amount > 0 THEN day END) AS first_day,
        MAX(CASE WHEN amount > 0 THEN day END) AS last_day,
        COUNT(DISTINCT CASE WHEN amount > 0 THEN day END) AS frequency,
        COUNT(*) AS n_lines,
        -- money is summed as DECIMAL(38, 10): exact, so the same in any order.  Summed as
        -- DOUBLE, the parallel engines' order changed the last bits from run to run, and a
        -- customer on an ABC boundary could change class between two runs on the same data
        CAST(SUM(CAST(amount AS DECIMAL(38, 10))) AS DOUBLE) AS monetary,
        CAST(SUM(CAST(gp AS DECIMAL(38, 10))) AS DOUBLE) AS gross_profit,
        CAST(SUM(CASE WHEN amount < 0 THEN CAST(-amount AS DECIMAL(38, 10)) ELSE 0 END) AS DOUBLE)
            AS returns_amount,
        COUNT(CASE WHEN amount < 0 THEN 1 END) AS n_returns
    FROM (
        -- the lines as a subquery, not a CTE: DuckDB would materialise a CTE
        SELECT
            {id} AS customer_id,
            {day} AS day,
            CAST({amount} AS DOUBLE) AS amount,
            {gp} AS gp
        FROM {source}
        WHERE {id} IS NOT NULL {window}
    ) AS lines
    GROUP BY customer_id
)
SELECT
    customer_id,
    first_day,
    last_day,
    as_of_day - last_day AS recency_days,
    as_of_day - first_day AS tenure_days,
    frequency,
    n_lines,
    monetary,
    gross_profit,
    returns_amount,
    n_returns,
    CASE WHEN frequency > 1
         THEN CAST(last_day - first_day AS DOUBLE) / (frequency - 1) END AS avg_interval_days
FROM per_customer CROSS JOIN bounds
