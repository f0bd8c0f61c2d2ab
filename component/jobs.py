"""The open platform's periodic platform job (registered in component/apps.py, run once per period for the fleet)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from component.conf import component_credentials, component_enabled
from component.models import ComponentTicket
from component.tokens import component_access_token, component_client, push_ask_claimed
from wechat.exceptions import WeChatError

logger = logging.getLogger(__name__)

WATCH_EVERY_SECONDS = 600
# WeChat pushes a ticket every 10 minutes: one this old means the pushes stopped arriving (a changed URL, a
# firewall), and a push is asked for long before the last ticket's 12 hours run out.
TICKET_STALE_AFTER = timedelta(hours=1)


def component_watch() -> dict[str, str]:
    """Ask for a ticket push when the last one is stale, and keep the component token refreshed ahead."""
    if not component_enabled():
        return {"component": "off"}
    row = ComponentTicket.objects.filter(component_app_id=component_credentials().app_id).first()
    stale = row is None or timezone.now() - row.received_at > TICKET_STALE_AFTER
    if stale and push_ask_claimed():
        logger.warning("component_verify_ticket pushes are late; asking WeChat for one (api_start_push_ticket)")
        component_client().start_push_ticket()
    try:
        component_access_token()
    except WeChatError as error:
        # Not a job failure: requests that need the token report it; the next period tries again.
        logger.warning("component_access_token not refreshed (errcode %s)", error.errcode)
        return {"ticket": "stale" if stale else "fresh", "token": "unavailable"}
    return {"ticket": "stale" if stale else "fresh", "token": "fresh"}
