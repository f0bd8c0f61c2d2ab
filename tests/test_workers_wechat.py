"""The two real jobs, through the API and real workers, against the fake WeChat server: subscribe messages
(-1 is retried, 43101 is not) and the msgSecCheck of a new nickname (risky puts the previous one back)."""

import pytest
from rq.job import JobStatus

from accounts.models import MiniProgramUser
from api.tests.conftest import TenantClient
from core.tenant_context import activate_tenant
from tenants.models import Tenant
from tenants.selectors import tenant_context_for
from tests.helpers import TENANT_A, TENANT_B
from tests.workers import ended_count, running_workers, status, wait_for
from wechat.fake_server import FakeWeChatServer, fake_openid

pytestmark = pytest.mark.usefixtures("tenant_db")

SUBSCRIBE = "/cgi-bin/message/subscribe/send"
TEMPLATE = "tmpl-order-ready"
MESSAGE = {"template_id": TEMPLATE, "data": {"thing1": {"value": "您的咖啡好了 ☕"}}, "page": "pages/order/index"}


def logged_in(app_id: str, code: str) -> TenantClient:
    client = TenantClient(app_id)
    assert client.login(code).status_code == 200
    return client


def job_state(client: TenantClient, job_id: str) -> dict:
    response = client.get(f"/api/v1/jobs/{job_id}")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.slow
def test_subscribe_message_is_sent_by_a_worker_retried_on_minus_1_and_failed_for_good_on_43101(
    wechat: FakeWeChatServer, queue_name, tmp_path
):
    control = wechat.control
    user = logged_in(TENANT_A, "code-alice")
    openid = fake_openid(TENANT_A, "code-alice")
    control.add_template(TENANT_A, TEMPLATE)
    control.grant_subscription(TENANT_A, openid=openid, template_id=TEMPLATE, count=1)
    control.fail_next(SUBSCRIBE, errcode=-1, app_id=TENANT_A)  # WeChat is busy once

    accepted = user.post("/api/v1/messages/subscribe", MESSAGE)
    assert accepted.status_code == 202, accepted.content
    sent_job = accepted.json()["job_id"]
    assert accepted.json()["status_url"] == f"/api/v1/jobs/{sent_job}"
    assert job_state(user, sent_job)["status"] == "queued"

    with running_workers(1, tmp_path, WECHAT_API_BASE=wechat.base_url) as (worker,):
        wait_for(lambda: status(sent_job) == JobStatus.FINISHED, 60, worker.log)
        # The one subscription is used up: WeChat answers 43101, which no retry can change.
        refused_job = user.post("/api/v1/messages/subscribe", MESSAGE).json()["job_id"]
        wait_for(lambda: status(refused_job) == JobStatus.FAILED, 60, worker.log)

    sent = job_state(user, sent_job)
    assert sent["status"] == "finished"
    assert sent["result"] == {"sent": True, "user_id": sent["result"]["user_id"], "template_id": TEMPLATE}
    assert sent["error"] is None
    refused = job_state(user, refused_job)
    assert refused["status"] == "failed"
    assert refused["error"]["code"] == "wechat_error"
    assert "43101" in refused["error"]["message"]
    # -1, then the message, then 43101 once: three calls, no retry of the refusal.
    assert control.counters(TENANT_A)[SUBSCRIBE] == 3
    # Read in-process: the control client's messages() decodes WeChat's text/plain JSON as Latin-1.
    [message] = [sent for sent in wechat.state.messages if sent["appid"] == TENANT_A]
    assert message["touser"] == openid
    assert message["data"] == MESSAGE["data"]
    assert message["page"] == MESSAGE["page"]

    # Another mini-program's user cannot see these jobs: the same 404 as an id that never existed.
    other = logged_in(TENANT_B, "code-alice")
    for job_id in (sent_job, refused_job, "0" * 32, "not-a-job-id"):
        response = other.get(f"/api/v1/jobs/{job_id}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "job_not_found"


def test_subscribe_message_needs_a_logged_in_user_and_valid_data(wechat: FakeWeChatServer, queue_name):
    anonymous = TenantClient(TENANT_A)
    assert anonymous.post("/api/v1/messages/subscribe", MESSAGE).status_code == 401
    user = logged_in(TENANT_A, "code-bob")
    invalid = user.post("/api/v1/messages/subscribe", {**MESSAGE, "data": {"thing1": {"text": "no value key"}}})
    assert invalid.status_code == 400
    assert invalid.json()["error"]["code"] == "invalid"


@pytest.mark.slow
def test_a_risky_new_nickname_is_rejected_and_a_clean_one_kept(wechat: FakeWeChatServer, queue_name, tmp_path):
    control = wechat.control
    control.set_words(risky=["坏词"])
    user = logged_in(TENANT_A, "code-carol")
    tenant_a = tenant_context_for(Tenant.objects.get(app_id=TENANT_A))

    def nickname() -> str:
        with activate_tenant(tenant_a):
            return MiniProgramUser.objects.get(openid=fake_openid(TENANT_A, "code-carol")).nickname

    assert user.patch("/api/v1/me", {"nickname": "小红 🌸"}).status_code == 200
    with running_workers(1, tmp_path, WECHAT_API_BASE=wechat.base_url) as (worker,):
        wait_for(lambda: ended_count() == 1, 60, worker.log)
        assert nickname() == "小红 🌸"
        assert user.patch("/api/v1/me", {"nickname": "我是坏词"}).status_code == 200
        assert nickname() == "我是坏词"  # saved at once, checked right after
        wait_for(lambda: ended_count() == 2, 60, worker.log)
    assert nickname() == "小红 🌸"
    assert control.counters(TENANT_A)["/wxa/msg_sec_check"] == 2
