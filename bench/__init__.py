"""Measurements under load (`make bench` -> bench/report.md, bench/report.json)."""
