"""Settings of fairness between tenants (imported at the end of config.settings.base; docs/fairness.md)."""

from config.env import env

# Jobs of one tenant on the shared queue at once (pushed, not started yet). Past it, the tenant's next jobs wait
# in its outbox (durable) and the relay releases them, oldest first, as its queued count falls. 0: no bound.
# A tenant's own bound (its "Jobs queued at most" in the admin) replaces this one.
JOBS_TENANT_MAX_QUEUED = env.int("JOBS_TENANT_MAX_QUEUED", default=1000)
# Held jobs are released once the tenant's queued count has fallen to this share of its bound (then up to the
# bound again): one release per half a bound of jobs, not one per job.
JOBS_TENANT_RELEASE_AT = env.float("JOBS_TENANT_RELEASE_AT", default=0.5)
# A tenant's own bound is read from the registry at most this often per process.
JOBS_TENANT_BOUND_CACHE_SECONDS = env.int("JOBS_TENANT_BOUND_CACHE_SECONDS", default=30)

# Requests of one tenant served at once by one web worker process (its greenlets or threads). Past it the request
# is refused at once with 429 tenant_busy and Retry-After (never queued: a waiting request still holds a
# greenlet, a socket and nginx's connection). 0: no bound. By default a quarter of a gevent worker's connections
# (deploy/gunicorn.conf.py: GUNICORN_WORKER_CONNECTIONS, 1000): four tenants at their bound leave room for others.
TENANT_MAX_CONCURRENT_PER_WORKER = env.int(
    "TENANT_MAX_CONCURRENT_PER_WORKER", default=env.int("GUNICORN_WORKER_CONNECTIONS", default=1000) // 4
)
TENANT_BUSY_RETRY_AFTER_SECONDS = env.int("TENANT_BUSY_RETRY_AFTER_SECONDS", default=1)

# Usage per tenant per day (requests, errors, jobs, WeChat calls) in Redis hashes kept this many days.
USAGE_KEEP_DAYS = env.int("USAGE_KEEP_DAYS", default=32)
# A process adds its counts to Redis at most this often (one pipeline); 0: at every count.
USAGE_FLUSH_SECONDS = env.float("USAGE_FLUSH_SECONDS", default=1.0)
