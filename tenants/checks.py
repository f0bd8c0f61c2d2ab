"""System checks of the registry's environment (`manage.py check`, and every command that runs checks,
`migrate` of a deploy included).

miniplex.E001: a secret key written in this repository (the debug and test defaults) is in use while a
database is not on this machine. The keys are public; a deployment whose databases others can reach (the
test environment shares the control database with production) needs keys of its own.
miniplex.E002: TENANT_ENVIRONMENT is not a plain name.
"""

import re
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register

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
