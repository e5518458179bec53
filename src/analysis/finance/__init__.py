"""Money decisions: credit limits and receivables, the case studies' ROI."""
