-- ABC class by monetary value (ABC分类, Pareto) on a customer summary.
-- Shared by the DuckDB fast path and the Spark path.  The rule is the one of
-- analysis.classification.abc_classes (the tests hold the two equal):
--
--   customers ranked by monetary descending (ties by customer_id);
--   before = running sum of the positive values up to and including the row, minus the
--            row's own positive value; equal values take the smallest (the first of
--            the tie group), so customers with the same value share a class;
--   share_before = before / (sum of the positive values);
--   A while share_before < cutoff_a (- 1e-12 float noise), B while < cutoff_b, else C;
--   monetary <= 0, or no positive sales at all: C.
--
-- Placeholders: {summary} a relation with the customer_summary.sql columns,
-- {columns} its column list, {limit_a} and {limit_b} the cut-offs minus 1e-12 as
-- DOUBLE expressions.
WITH ranked AS (
    SELECT
        {columns},
        SUM(CASE WHEN monetary > 0 THEN monetary ELSE 0.0 END) OVER (
            ORDER BY monetary DESC, customer_id ASC
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
          - CASE WHEN monetary > 0 THEN monetary ELSE 0.0 END AS row_before,
        SUM(CASE WHEN monetary > 0 THEN monetary ELSE 0.0 END) OVER () AS total_positive
    FROM {summary}
),
tied AS (
    SELECT ranked.*, MIN(row_before) OVER (PARTITION BY monetary) AS before
    FROM ranked
)
SELECT
    {columns},
    CASE
        WHEN monetary <= 0 OR total_positive <= 0 THEN 'C'
        WHEN before / total_positive < {limit_a} THEN 'A'
        WHEN before / total_positive < {limit_b} THEN 'B'
        ELSE 'C'
    END AS abc_class
FROM tied
