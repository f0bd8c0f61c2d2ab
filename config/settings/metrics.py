"""Settings of /metrics (imported at the end of config.settings.base; docs/metrics.md)."""

from config.env import env

# Who may scrape /metrics (addresses as gunicorn sees them; never through nginx, which answers it 404 itself).
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])
# The folder holding every program's PROMETHEUS_MULTIPROC_DIR (web, worker-00, ...); empty: its parent.
METRICS_ROOT = env("METRICS_ROOT", default="")
