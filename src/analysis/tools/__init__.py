"""Command line and workshop kit."""
