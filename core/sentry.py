"""Sentry: errors of requests and jobs, each tagged with its tenant (AppID) and request id.

Wired in config.settings.base `if SENTRY_DSN:`. The tags are read from the same ContextVars as the log lines,
at the moment an event is made; a job's tenant may be reset before the worker reports the job's failure, so
the job class also calls `tag_tenant(app_id)` on the job's own Sentry scope.
"""

from typing import Any

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.rq import RqIntegration

from core.request_id import get_request_id
from core.tenant_context import get_current_tenant

TENANT_TAG = "app_id"
REQUEST_ID_TAG = "request_id"


def sentry_init(*, dsn: str, environment: str, release: str, traces_sample_rate: float = 0.0) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration(), RqIntegration()],
        traces_sample_rate=traces_sample_rate,
        send_default_pii=False,  # no user IPs, cookies or bodies: WeChat openids and tokens stay here
        before_send=add_context_tags,
    )
    _report_jobs_that_rq_will_not_retry()


def add_context_tags(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """Tags every event with the active tenant and request id, unless the scope already named them."""
    tags = event.setdefault("tags", {})
    tenant = get_current_tenant()
    if tenant is not None:
        tags.setdefault(TENANT_TAG, tenant.app_id)
    request_id = get_request_id()
    if request_id is not None:
        tags.setdefault(REQUEST_ID_TAG, request_id)
    return event


def tag_tenant(app_id: str, *, request_id: str | None = None) -> None:
    """Tags the current Sentry scope (a job's, inside the RQ integration) with its tenant; no-op without Sentry."""
    scope = sentry_sdk.get_current_scope()
    scope.set_tag(TENANT_TAG, app_id)
    if request_id is not None:
        scope.set_tag(REQUEST_ID_TAG, request_id)


def _report_jobs_that_rq_will_not_retry() -> None:
    """Make the RQ integration report every job failure that rq will not retry.

    sentry-sdk's RqIntegration reports a failed job only when `job.retries_left` is 0, but rq itself decides by
    `job.should_retry`, which TenantJob answers False for a permanent error (a bug, a refused tenant) while
    retries are left: such failures would never reach Sentry. For those, the integration sees no retries left.
    """
    from rq.worker import BaseWorker

    reporting = BaseWorker.handle_exception  # already wrapped by the integration
    if getattr(reporting, "miniplex_wrapped", False):
        return

    def handle_exception(self: BaseWorker, job: Any, *exc_info: Any, **kwargs: Any) -> Any:
        retries_left = getattr(job, "retries_left", None)
        if not retries_left or job.should_retry:
            return reporting(self, job, *exc_info, **kwargs)
        job.retries_left = 0
        try:
            return reporting(self, job, *exc_info, **kwargs)
        finally:
            job.retries_left = retries_left

    handle_exception.miniplex_wrapped = True  # type: ignore[attr-defined]
    BaseWorker.handle_exception = handle_exception  # type: ignore[method-assign]
