"""A throwaway tenant app for benchmarks.tenants10k: one migration (a small table) to apply to every tenant.

Installed only by benchmarks.apps.settings_probe, never by the product's settings.
"""
