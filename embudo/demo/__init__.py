"""Deterministic demo data: named personas, teams, companies, leads and their timelines."""
