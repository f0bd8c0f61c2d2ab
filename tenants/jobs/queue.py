"""Enqueueing for the active tenant, once the tenant database's transaction has committed."""

import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, transaction
from redis import Redis
from rq import Queue
from rq.defaults import RQ_KEY_PREFIX

from core.tenant_context import TenantNotActive, get_current_tenant
from tenants.jobs import conf
from tenants.jobs.job import META_APP_ID, META_PLATFORM, TenantJob

JobFunction = Callable[..., Any] | str

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


def get_queue() -> Queue:
    """The shared queue, with TenantJob; in the embedded default it runs each job at once, in-process."""
    name = conf.get_queue_name()
    config = settings.RQ_QUEUES[name]
    return Queue(
        name,
        connection=get_connection(),
        job_class=TenantJob,
        is_async=config.get("ASYNC", True),
        default_timeout=config.get("DEFAULT_TIMEOUT"),
    )


def enqueue(func: JobFunction, *args: Any, platform: bool = False, **kwargs: Any) -> str:
    """Run func(*args, **kwargs) in a worker, in the active tenant, once the tenant database commits.

    Returns the job's id at once, before the commit, so an API can answer it; if the transaction rolls
    back, nothing is enqueued and the id never exists. With no active tenant this raises TenantNotActive,
    unless `platform=True` says it is a job of the platform (it then runs with no tenant, and waits for
    the control database's commit). `platform` is therefore never passed on to func.
    """
    tenant = get_current_tenant()
    if platform:
        meta: dict[str, Any] = {META_APP_ID: None, META_PLATFORM: True}
        using = DEFAULT_DB_ALIAS
    elif tenant is None:
        raise TenantNotActive("a tenant job needs an active tenant; pass platform=True for a platform job")
    else:
        meta, using = {META_APP_ID: tenant.app_id}, tenant.db_alias
    job_id = uuid.uuid4().hex
    # django-rq's own commit mode watches only the default database; the tenant's data is on its server's
    # alias, whose transaction is the one the job depends on.
    transaction.on_commit(partial(_enqueue_now, func, args, kwargs, job_id=job_id, meta=meta), using=using)
    return job_id


def _enqueue_now(func: JobFunction, args: tuple[Any, ...], kwargs: dict[str, Any], *, job_id: str, meta: dict) -> None:
    get_queue().enqueue_call(
        func,
        args=args,
        kwargs=kwargs,
        job_id=job_id,
        meta=meta,
        retry=conf.get_retry(),
        result_ttl=conf.get_result_ttl(),
        failure_ttl=conf.get_failure_ttl(),
    )
