"""Product mix and margins: ranking, product ABC, gross margin, turnover, cross and contribution ratios."""
