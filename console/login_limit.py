"""The admin login's rate limit: django-axes' database handler, with a second, wider count per address.

axes counts failures per username and address together (AXES_LOCKOUT_PARAMETERS), so a guesser cannot lock a
person out everywhere; alone, that would let one address try a few passwords on every username. So an address
is also locked once its failures over all usernames reach ADMIN_LOGIN_ADDRESS_FAILURE_LIMIT within the same
cool-off: high enough that colleagues behind one office address are not locked out by one another's typos.
"""

from typing import Any

from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.utils import timezone


class LoginLimitHandler(AxesDatabaseHandler):
    def get_failures(self, request: Any, credentials: dict | None = None) -> int:
        # axes locks out when this reaches AXES_FAILURE_LIMIT, both before a login and right after a failure.
        pair = super().get_failures(request, credentials)
        if self._address_failures(request) >= settings.ADMIN_LOGIN_ADDRESS_FAILURE_LIMIT:
            return max(pair, settings.AXES_FAILURE_LIMIT)
        return pair

    def _address_failures(self, request: Any) -> int:
        address = getattr(request, "axes_ip_address", None)
        if not address:
            return 0
        since = timezone.now() - settings.AXES_COOLOFF_TIME
        attempts = AccessAttempt.objects.filter(ip_address=address, attempt_time__gte=since)
        return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
