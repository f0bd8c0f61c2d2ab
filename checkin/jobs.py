"""Check-in's jobs: the evening reminder, as a subscribe message (accounts.messaging), to members who asked for one.

`reminders_enqueue_due` is a periodic platform job (every 15 minutes, checkin.apps): it looks into each active
tenant (one query) and enqueues `reminders_send` in those with a member to remind now. Both run at least once;
a member reminded today (reminded_on) is never reminded again that day.
"""

from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from accounts.messaging import subscribe_message_enqueue
from checkin.models import Member
from checkin.selectors import checkin_settings_find, tenant_now
from core.tenant_context import activate_tenant, require_current_tenant
from pushes.exceptions import SubscriptionRefused
from tenants.jobs import enqueue
from tenants.models import Tenant
from tenants.selectors import tenant_context_for, tenant_list

REMINDER_TEXT = "今天还没有签到，别让连续签到断了"  # WeChat's `thing` values: 20 characters at most


def reminders_enqueue_due() -> list[str]:
    """The platform job: enqueues each active tenant's reminders once its evening has come; returns their AppIDs."""
    enqueued = []
    for tenant in tenant_list().filter(status=Tenant.Status.ACTIVE):
        with activate_tenant(tenant_context_for(tenant)):
            if _members_to_remind().exists():
                enqueue(reminders_send)
                enqueued.append(tenant.app_id)
    return enqueued


def reminders_send() -> dict[str, Any]:
    """The tenant job: one subscribe message per member due, each queued with its member's reminder used up."""
    checkin_settings = checkin_settings_find()
    if checkin_settings is None:
        return {"sent": 0}
    today = tenant_now(checkin_settings=checkin_settings).date()
    sent = refused = 0
    for member in _members_to_remind().select_related("user"):
        with transaction.atomic(using=require_current_tenant().db_alias):
            try:
                subscribe_message_enqueue(
                    user=member.user,
                    template_id=checkin_settings.reminder_template_id,
                    data={"thing1": {"value": REMINDER_TEXT}},
                    page="pages/checkin/index",
                )
                sent += 1
            except SubscriptionRefused:
                # The user turned the template down since (WeChat's push said so): the promise is void.
                refused += 1
            Member.objects.filter(pk=member.pk).update(reminder_wanted=False, reminded_on=today)
    return {"sent": sent, "refused": refused}


def _members_to_remind() -> QuerySet[Member]:
    """Members who asked for a reminder and have not checked in today, once the tenant's reminder hour has come."""
    checkin_settings = checkin_settings_find()
    if checkin_settings is None or not checkin_settings.reminder_template_id:
        return Member.objects.none()
    now = tenant_now(checkin_settings=checkin_settings)
    if now.hour < checkin_settings.reminder_hour:
        return Member.objects.none()
    today = now.date()
    return Member.objects.filter(reminder_wanted=True).exclude(last_checkin_day=today).exclude(reminded_on=today)
