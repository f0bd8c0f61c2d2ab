"""Sentry: errors of requests and jobs, each tagged with its tenant (AppID) and request id.

Wired in config.settings.base `if SENTRY_DSN:`. The tags are read from the same ContextVars as the log lines,
at the moment an event is made; a job's tenant may be reset before the worker reports the job's failure, so
the job class also calls `tag_tenant(app_id)` on the job's own Sentry scope.
"""

import re
from collections.abc import Mapping
from typing import Any

import sentry_sdk
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.integrations.rq import RqIntegration
from sentry_sdk.types import Event, Hint

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
        # No user IPs or cookies; and, since send_default_pii does not cover them, no request bodies (a login or a
        # secret rotation carries codes and AppSecrets) and no local variables of the frames (tokens, secrets).
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
        before_send=prepare_event,
        before_breadcrumb=scrub_breadcrumb,
    )


# A key is secret when its lower-cased name contains one of these: AppSecrets (`app_secret`, `secret`), tokens
# (`token`, `raw_token`, `access_token`, `authorization`), WeChat's `session_key`, phone numbers and the
# `encryptedData`/`iv` pair they are decrypted from, passwords, cookies and keys of any kind.
SECRET_KEY_FRAGMENTS = (
    "secret",
    "token",
    "authorization",
    "session_key",
    "sessionkey",
    "phone",
    "encrypted",
    "password",
    "passwd",
    "cookie",
    "csrf",
    "api_key",
    "apikey",
    "private_key",
    "dsn",
)
# Keys matched whole (too short to match as a fragment): the IV of encryptedData, the login code.
SECRET_KEY_NAMES = frozenset({"iv", "code", "js_code", "key", "keys"})
FILTERED = "[Filtered]"
# name=value pairs inside a string: the query of a URL in an HTTP breadcrumb (WeChat takes secrets in the query).
_QUERY_PAIR = re.compile(r"([A-Za-z0-9_.\-]+)=([^&\s#]*)")


def is_secret_key(name: object) -> bool:
    key = str(name).lower().replace("-", "_")
    return key in SECRET_KEY_NAMES or any(fragment in key for fragment in SECRET_KEY_FRAGMENTS)


def scrub(value: Any) -> Any:
    """The value with every secret-named entry replaced, at any depth (dicts, lists, and header pairs)."""
    if isinstance(value, Mapping):
        return {key: FILTERED if is_secret_key(key) else scrub(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        # Headers and cookies may come as [name, value] pairs.
        if len(value) == 2 and isinstance(value[0], str) and is_secret_key(value[0]):
            return [value[0], FILTERED]
        return [scrub(item) for item in value]
    if isinstance(value, str) and "=" in value:
        return _QUERY_PAIR.sub(_scrub_pair, value)
    return value


def _scrub_pair(match: re.Match[str]) -> str:
    return f"{match[1]}={FILTERED}" if is_secret_key(match[1]) else match[0]


def prepare_event(event: Event, hint: Hint) -> Event:
    """Scrubs the event of secrets (whatever an integration put where), then tags it with tenant and request."""
    scrubbed = scrub(event)  # a copy
    add_context_tags(scrubbed, hint)  # in place
    return scrubbed


def scrub_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    return scrub(crumb)


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
