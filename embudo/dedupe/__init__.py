"""Duplicates: match keys, fuzzy candidates, scored comparison, merge and un-merge."""
