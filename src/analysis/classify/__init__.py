"""Customer classification: ABC, pyramid, quadrants, credit grades, scorecard, tags, RFM, migration, screening, roster."""
