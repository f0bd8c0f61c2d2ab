"""Redis through Sentinel (docs/redis-sentinel.md): every Redis client finds the master by asking the sentinels.

REDIS_SENTINELS="host:port,host:port,..." and REDIS_SENTINEL_MASTER (the name the sentinels monitor) turn it on;
REDIS_SENTINEL_DB (0), REDIS_PASSWORD (the master's and replicas' password) and REDIS_SENTINEL_PASSWORD (the
sentinels' own, when they ask for one) are optional. REDIS_URL then names the master by its Sentinel name,
`redis://[:password@]<master>/<db>`, and is given that value here when it is not set: the caches and the token
holder reach it through core.redis's pools (redis-py's Sentinel-managed connections), the queue through
django-rq's SENTINELS config (sentinel_rq_queue). core.redis's system check says what is inconsistent.

Imported by base.py before REDIS_URL is read, so that the caches, RQ_QUEUES and the production settings' required
REDIS_URL are all built from the same master.
"""

from typing import Any
from urllib.parse import quote

from config.env import env, set_defaults

# What base.py's star import takes: the settings, and the RQ_QUEUES rewrite it applies.
__all__ = [
    "REDIS_SENTINELS",
    "REDIS_SENTINEL_MASTER",
    "REDIS_SENTINEL_DB",
    "REDIS_SENTINEL_PASSWORD",
    "REDIS_SENTINEL_SOCKET_TIMEOUT",
    "sentinel_rq_queue",
]


def parse_sentinels(text: str) -> list[tuple[str, int]]:
    """ "h1:26379,h2:26379" -> [("h1", 26379), ("h2", 26379)]; ValueError on an address without a port."""
    sentinels = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"REDIS_SENTINELS: {item!r} is not host:port")
        sentinels.append((host.strip("[]"), int(port)))
    return sentinels


REDIS_SENTINELS = parse_sentinels(env("REDIS_SENTINELS", default=""))
REDIS_SENTINEL_MASTER = env("REDIS_SENTINEL_MASTER", default="")
REDIS_SENTINEL_DB = env.int("REDIS_SENTINEL_DB", default=0)
REDIS_SENTINEL_PASSWORD = env("REDIS_SENTINEL_PASSWORD", default="")
# How long a client waits for one sentinel's answer before it asks the next one.
REDIS_SENTINEL_SOCKET_TIMEOUT = env.float("REDIS_SENTINEL_SOCKET_TIMEOUT", default=1.0)
_REDIS_PASSWORD = env("REDIS_PASSWORD", default="")


def sentinel_redis_url() -> str:
    """REDIS_URL naming the master by its Sentinel name (core.redis resolves such a URL through the sentinels)."""
    credentials = f":{quote(_REDIS_PASSWORD, safe='')}@" if _REDIS_PASSWORD else ""
    return f"redis://{credentials}{REDIS_SENTINEL_MASTER}/{REDIS_SENTINEL_DB}"


def sentinel_kwargs() -> dict[str, Any]:
    """Options of the connections to the sentinels themselves (not to the master)."""
    options: dict[str, Any] = {"socket_timeout": REDIS_SENTINEL_SOCKET_TIMEOUT}
    if REDIS_SENTINEL_PASSWORD:
        options["password"] = REDIS_SENTINEL_PASSWORD
    return options


def sentinel_rq_queue(queue: dict[str, Any]) -> dict[str, Any]:
    """One RQ_QUEUES entry in django-rq's Sentinel form (its rqworker and admin pages connect through it);
    tenants.jobs.queue reaches the same master by REDIS_URL on the process's shared pool."""
    if not REDIS_SENTINELS:
        return queue
    rest = {key: value for key, value in queue.items() if key not in ("URL", "ASYNC")}
    return {
        **rest,
        "SENTINELS": REDIS_SENTINELS,
        "MASTER_NAME": REDIS_SENTINEL_MASTER,
        "DB": REDIS_SENTINEL_DB,
        "PASSWORD": _REDIS_PASSWORD or None,
        "SENTINEL_KWARGS": sentinel_kwargs(),
    }


if REDIS_SENTINELS and REDIS_SENTINEL_MASTER:
    set_defaults({"REDIS_URL": sentinel_redis_url()})
