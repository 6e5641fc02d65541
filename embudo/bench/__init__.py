"""Benchmarks run by ``manage.py bench <name>`` (``embudo bench <name>``); results in benchmarks/results/."""
