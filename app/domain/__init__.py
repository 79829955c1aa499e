"""Pure rules with no framework imports: eligibility, keywords, offers, segments, statistics."""
