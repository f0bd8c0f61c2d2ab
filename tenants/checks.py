"""System checks of the registry's environment (`manage.py check`, and every command that runs checks,
`migrate` of a deploy included).

miniplex.E001: a secret key written in this repository (the debug and test defaults) is in use while a
database is not on this machine. The keys are public; a deployment whose databases others can reach (the
test environment shares the control database with production) needs keys of its own.
miniplex.E002: TENANT_ENVIRONMENT is not a plain name.
miniplex.E003: an app is in both CONTROL_APPS and TENANT_APPS, or has models and is in neither (the router would
not know where its tables live).
miniplex.E004: a tenant database server named in TENANT_DB_SERVERS lacks its runtime or DDL database, or
TENANT_DB_DEFAULT_SERVER is not one of them.
miniplex.E005: this environment's TENANT_SECRETS_KEYS decrypt another environment's AppSecrets (checked
against the AppSecrets the other environments stored in the shared control database; a database check: every
`migrate`, or `manage.py check --database default`).
"""

import re
from typing import Any

from cryptography.fernet import InvalidToken
from django.apps import apps
from django.conf import settings
from django.core.checks import Error, Tags, register
from django.db import DatabaseError

# The defaults of config/settings/debug.py and config/settings/test.py (tests/ checks they are all here).
REPOSITORY_KEYS = frozenset(
    {
        "debug-only-not-secret-miniplex",
        "ZGVidWctb25seS1rZXktZm9yLW1pbmlwbGV4LWRldiE=",
        "test-only-not-secret-miniplex",
        "dGVzdC1vbmx5LWtleS1mb3ItbWluaXBsZXgtdGVzdHM=",
    }
)
LOCAL_HOSTS = frozenset({"", "127.0.0.1", "localhost", "::1", "[::1]"})
ENVIRONMENT_PATTERN = re.compile(r"[a-z][a-z0-9_-]{0,31}", re.ASCII)


def remote_database_hosts(databases: dict[str, dict[str, Any]] | None = None) -> list[str]:
    """The configured databases' hosts that are not this machine (a Unix socket path is local)."""
    databases = settings.DATABASES if databases is None else databases
    hosts = {str(database.get("HOST") or "") for database in databases.values()}
    return sorted(host for host in hosts if host not in LOCAL_HOSTS and not host.startswith("/"))


@register(Tags.security, deploy=False)
def repository_keys_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    remote = remote_database_hosts()
    if not remote:
        return []
    in_use = {"DJANGO_SECRET_KEY": [settings.SECRET_KEY], "TENANT_SECRETS_KEYS": list(settings.TENANT_SECRETS_KEYS)}
    return [
        Error(
            f"{name} is one of the repository's built-in keys, and the databases are not on this machine "
            f"({', '.join(remote)}).",
            hint=f"Give this environment ({settings.TENANT_ENVIRONMENT}) keys of its own in {name}.",
            id="miniplex.E001",
        )
        for name, values in in_use.items()
        if REPOSITORY_KEYS.intersection(values)
    ]


@register()
def environment_name_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    if ENVIRONMENT_PATTERN.fullmatch(settings.TENANT_ENVIRONMENT):
        return []
    return [
        Error(
            f"TENANT_ENVIRONMENT {settings.TENANT_ENVIRONMENT!r} is not a plain name.",
            hint="Use lower-case letters, digits, - and _ (at most 32), such as master or test.",
            id="miniplex.E002",
        )
    ]


@register()
def app_placement_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    control, tenant = set(settings.CONTROL_APPS), set(settings.TENANT_APPS)
    errors = [
        Error(
            f"app {label!r} is in both CONTROL_APPS and TENANT_APPS.",
            hint="An app's tables live either in the control database or in every tenant's: pick one list.",
            id="miniplex.E003",
        )
        for label in sorted(control & tenant)
    ]
    for config in apps.get_app_configs():
        if config.label not in control | tenant and any(True for _ in config.get_models()):
            errors.append(
                Error(
                    f"app {config.label!r} has models but is in neither CONTROL_APPS nor TENANT_APPS.",
                    hint="Add it to CONTROL_APPS (platform data) or TENANT_APPS (data of each mini-program).",
                    id="miniplex.E003",
                )
            )
    return errors


@register()
def tenant_servers_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    from core.tenant_context import tenant_db_alias, tenant_ddl_alias

    errors = [
        Error(
            f"tenant database server {server!r} has no {alias!r} database.",
            hint=f"Set TENANT_DB_{server.upper()}_URL and TENANT_DB_{server.upper()}_DDL_URL.",
            id="miniplex.E004",
        )
        for server in settings.TENANT_DB_SERVER_NAMES
        for alias in (tenant_db_alias(server), tenant_ddl_alias(server))
        if alias not in settings.DATABASES
    ]
    if settings.TENANT_DB_DEFAULT_SERVER not in settings.TENANT_DB_SERVER_NAMES:
        errors.append(
            Error(
                f"TENANT_DB_DEFAULT_SERVER {settings.TENANT_DB_DEFAULT_SERVER!r} is not one of TENANT_DB_SERVERS.",
                hint=f"Use one of {list(settings.TENANT_DB_SERVER_NAMES)}.",
                id="miniplex.E004",
            )
        )
    return errors


@register(Tags.database)
def shared_secrets_keys_check(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[Error]:
    if not databases or "default" not in databases:
        return []
    from tenants.models import Tenant
    from tenants.secrets import secret_decrypt

    try:
        stored = list(
            Tenant.all_environments.exclude(environment=settings.TENANT_ENVIRONMENT)
            .exclude(app_secret_encrypted="")
            .values_list("environment", "app_secret_encrypted")
        )
    except DatabaseError:
        return []  # no registry table yet (a first migrate), or no database: nothing to compare
    # A token under another key fails its HMAC at once: every stored secret is tried, in microseconds each.
    shared = sorted({environment for environment, token in stored if _decrypts(secret_decrypt, token)})
    return [
        Error(
            f"TENANT_SECRETS_KEYS of {settings.TENANT_ENVIRONMENT} decrypt the AppSecrets of {environment}.",
            hint="Each environment sharing the control database needs AppSecret keys of its own.",
            id="miniplex.E005",
        )
        for environment in shared
    ]


def _decrypts(decrypt: Any, token: str) -> bool:
    try:
        decrypt(token)
    except (InvalidToken, ValueError, TypeError):
        return False
    return True
