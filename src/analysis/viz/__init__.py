"""Showing results: chart style and fonts, labels and formats, charts per area."""
