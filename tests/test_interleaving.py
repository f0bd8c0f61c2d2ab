"""Many tenants' requests interleaved in one gevent process: nothing crosses from one tenant to another."""

import json
import subprocess
from collections import Counter

import pytest

from accounts.models import MiniProgramUser
from core.tenant_context import activate_tenant
from tenants.models import Tenant
from tenants.selectors import tenant_context_for
from tests.helpers import BASE_DIR, PYTHON, SESSION_TENANTS, subprocess_env

pytestmark = pytest.mark.usefixtures("tenant_db")
REQUESTS = 240


@pytest.mark.slow
def test_interleaved_requests_of_three_tenants_in_one_gevent_process_stay_in_their_tenant():
    result = subprocess.run(
        [PYTHON, str(BASE_DIR / "tests" / "gevent_interleave.py"), ",".join(SESSION_TENANTS), str(REQUESTS), "40"],
        env=subprocess_env(DB_CONN_MAX_AGE="0"),
        capture_output=True,
        text=True,
        timeout=180,
        cwd=BASE_DIR,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    responses = json.loads(result.stdout)
    assert len(responses) == REQUESTS
    for response in responses:
        assert response["status"] == 200, response
        assert response["body"]["app_id"] == response["sent"]
        assert response["body"]["mine"] is True
        assert response["body"]["nicknames"] == [response["sent"]]
    assert Counter(response["sent"] for response in responses) == {app_id: REQUESTS // 3 for app_id in SESSION_TENANTS}

    for app_id in SESSION_TENANTS:
        with activate_tenant(tenant_context_for(Tenant.objects.get(app_id=app_id))):
            rows = list(MiniProgramUser.objects.values_list("openid", "nickname"))
        assert len(rows) == REQUESTS // 3
        assert all(openid.startswith(f"{app_id}-") and nickname == app_id for openid, nickname in rows)
