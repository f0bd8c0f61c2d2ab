"""What arrives for a frozen tenant and cannot wait for a retry (a WeChat push): held, then replayed.

A tenant app registers a replayer per kind in its AppConfig.ready() (pushes: "push"), so this package never
imports a tenant app. A replayer runs with the tenant active on its current copy and must be idempotent: an
item may be replayed twice (by the move and by the request that held it), never lost.
"""

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction

from core.tenant_context import activate_tenant
from tenants.models import MoveHeldItem, Tenant, registry_environment
from tenants.selectors import tenant_context_for

logger = logging.getLogger(__name__)

Replayer = Callable[[dict[str, Any]], None]
_replayers: dict[str, Replayer] = {}


def register_held_replayer(kind: str, replayer: Replayer) -> None:
    _replayers[kind] = replayer


def move_hold(*, app_id: str, kind: str, payload: dict[str, Any]) -> None:
    """Keeps `payload` in the control database; replays it at once if the freeze ended meanwhile."""
    if kind not in _replayers:
        raise LookupError(f"no replayer is registered for held {kind!r} items")
    MoveHeldItem.objects.create(app_id=app_id, kind=kind, payload=payload)
    logger.info("move: %s %s held during the freeze", app_id, kind)
    state = Tenant.objects.filter(app_id=app_id).values_list("move_state", flat=True).first()
    if state != Tenant.MoveState.FROZEN:
        move_held_replay(app_id=app_id)  # the switch (or an abort) came between our lookup and the hold


def move_held_count(*, app_id: str) -> int:
    return MoveHeldItem.objects.filter(environment=registry_environment(), app_id=app_id).count()


def move_held_replay(*, app_id: str) -> int:
    """Replays the tenant's held items, oldest first, on its current copy; how many."""
    replayed = 0
    tenant = Tenant.objects.get(app_id=app_id)
    items = MoveHeldItem.objects.filter(environment=registry_environment(), app_id=app_id).order_by("id")
    with activate_tenant(tenant_context_for(tenant)):
        for item in list(items):
            with transaction.atomic():
                # Taken under a lock, so two replayers do not both run the same item.
                claimed = MoveHeldItem.objects.select_for_update(skip_locked=True).filter(pk=item.pk).first()
                if claimed is None:
                    continue
                _replayers[claimed.kind](claimed.payload)
                claimed.delete()
            replayed += 1
    if replayed:
        logger.info("move: %s: %d held item(s) replayed on %s", app_id, replayed, tenant.db_server)
    return replayed
