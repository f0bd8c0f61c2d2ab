"""`manage.py set_checkin`: a tenant's rules and rewards from the command line; bad values change nothing."""

import pytest
from django.core.management import CommandError, call_command

from checkin.models import CheckinSettings, Reward
from checkin.tests.helpers import context_of
from core.tenant_context import activate_tenant
from tests.helpers import TENANT_A, TENANT_B

pytestmark = pytest.mark.usefixtures("tenant_db")


def test_it_sets_one_tenants_rules_and_reward(capsys):
    call_command("set_checkin", TENANT_A, "--time-zone", "Europe/Berlin", "--points", "5", "--reminder-hour", "19")
    call_command("set_checkin", TENANT_A, "--reward", "coffee", "--title", "一杯咖啡", "--amount", "1800")
    out = capsys.readouterr().out
    assert "day in Europe/Berlin, 5 points a check-in" in out and "reward coffee = 1800 fen, +0 (on sale)" in out
    with activate_tenant(context_of(TENANT_A)):
        rules = CheckinSettings.objects.get()
        assert (rules.time_zone, rules.points_per_checkin, rules.reminder_hour) == ("Europe/Berlin", 5, 19)
        assert Reward.objects.get().amount == 1800
    with activate_tenant(context_of(TENANT_B)):
        assert (CheckinSettings.objects.count(), Reward.objects.count()) == (0, 0)


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["--time-zone", "Mars/Olympus"], "invalid_time_zone"),
        (["--reward", "coffee", "--amount", "0"], "invalid_reward"),
        (["--reward", "bad code!", "--amount", "100"], "invalid_reward"),
    ],
)
def test_a_bad_value_is_refused_with_its_code(argv, code):
    with pytest.raises(CommandError, match=code):
        call_command("set_checkin", TENANT_A, *argv)
    with activate_tenant(context_of(TENANT_A)):
        assert Reward.objects.count() == 0
        assert not CheckinSettings.objects.exclude(time_zone="Asia/Shanghai").exists()
