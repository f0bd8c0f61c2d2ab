"""Benchmark-only apps: the baselines (bare WSGI, plain Django, DRF without tenancy) and a slow view.

They live here, not in the product: settings.py reuses config.settings.test and only adds these URLs.
"""
