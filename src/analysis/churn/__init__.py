"""Churn risk: features and labels, models and their backtest, BG/NBD, reasons."""
