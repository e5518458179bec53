"""Transaction lines to per-customer tables: the summary SQL, run by pandas, DuckDB or Spark."""
