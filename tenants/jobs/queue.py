"""The shared queue and its Redis connection (enqueueing is in tenants.jobs.outbox)."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from redis import Redis
from rq import Queue
from rq.defaults import RQ_KEY_PREFIX

from tenants.jobs import conf
from tenants.jobs.job import TenantJob

# One client (and connection pool) per Redis URL and process; "" is the embedded default's stand-in.
_connections: dict[str, Redis] = {}


def get_connection() -> Redis:
    """The Redis of the jobs queue (RQ_QUEUES), or an in-process fakeredis when no Redis is configured."""
    url = settings.RQ_QUEUES[conf.get_queue_name()].get("URL", "")
    if url not in _connections:
        _check_key_prefix()
        if url:
            _connections[url] = Redis.from_url(url)
        else:
            # The embedded default (./dev serve): no Redis, and jobs run in-process (ASYNC False).
            import fakeredis

            _connections[url] = fakeredis.FakeRedis()
    return _connections[url]


def _check_key_prefix() -> None:
    # rq took its prefix from the environment when it was imported; had it been imported before the settings
    # set RQ_KEY_PREFIX, this process would read and write another set of queues than its workers.
    if RQ_KEY_PREFIX != settings.RQ_KEY_PREFIX:
        raise ImproperlyConfigured(
            f"rq uses the key prefix {RQ_KEY_PREFIX!r} but the settings say {settings.RQ_KEY_PREFIX!r}"
        )


def get_queue(name: str | None = None) -> Queue:
    """The shared queue (or the named one), with TenantJob; in the embedded default it runs each job at once."""
    name = name or conf.get_queue_name()
    config = settings.RQ_QUEUES.get(name, settings.RQ_QUEUES[conf.get_queue_name()])
    return Queue(
        name,
        connection=get_connection(),
        job_class=TenantJob,
        is_async=config.get("ASYNC", True),
        default_timeout=config.get("DEFAULT_TIMEOUT"),
    )
