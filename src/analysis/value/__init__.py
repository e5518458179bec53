"""Customer value forecast: expected purchases, sales and gross profit, backtested."""
