"""Herd benchmarks for lpcfe: the five minutes before the keynote, measured against the real stack.

Run `python -m bench --help`; README.md ("Performance") has the latest figures.
"""
