"""/metrics: the fleet's samples added up across processes, for Prometheus only (docs/metrics.md).

The metric objects and their one-line calls are core.metrics (every layer records); this package serves them,
measures HTTP requests (HttpMetricsMiddleware) and reads the outbox backlog at scrape time.
"""
