"""Rewards: on sale per tenant (cached per tenant), bought with WeChat Pay at the server's price, granted once paid."""

import pytest

from accounts.models import MiniProgramUser
from checkin.models import Member, Reward, RewardPurchase
from checkin.selectors import rewards_list
from checkin.services import reward_grant, reward_set
from checkin.tests.helpers import context_of, logged_in
from core.tenant_context import activate_tenant
from payments.models import Order
from payments.services import PAYMENT_SUCCEEDED_JOB, order_create
from tenants.outbox.models import OutboxJob
from tests.helpers import TENANT_A, TENANT_B
from tests.workers import fetch

pytestmark = pytest.mark.usefixtures("wechat", "queue_name")

REWARDS = "/api/v1/checkin/rewards"


def coffee_in(app_id: str, amount: int = 1800, bonus_points: int = 50) -> None:
    with activate_tenant(context_of(app_id)):
        reward_set(code="coffee", title="一杯咖啡", amount=amount, bonus_points=bonus_points)


def test_each_tenant_lists_its_own_rewards_and_a_change_is_seen_at_once():
    coffee_in(TENANT_A)
    alice_a, alice_b = logged_in(TENANT_A), logged_in(TENANT_B)
    assert alice_a.get(REWARDS).json()["rewards"] == [
        {"code": "coffee", "title": "一杯咖啡", "amount": 1800, "bonus_points": 50}
    ]
    # The same cache key under another AppID is another entry: B has nothing on sale.
    assert alice_b.get(REWARDS).json()["rewards"] == []
    coffee_in(TENANT_A, amount=1500)
    assert alice_a.get(REWARDS).json()["rewards"][0]["amount"] == 1500


def test_the_rewards_list_is_cached_per_tenant():
    coffee_in(TENANT_A)
    with activate_tenant(context_of(TENANT_A)):
        assert len(rewards_list()) == 1
        # A write behind the service's back is not seen until the cached copy expires: the list is the cache's.
        Reward.objects.update(title="changed")
        assert rewards_list()[0]["title"] == "一杯咖啡"
    with activate_tenant(context_of(TENANT_B)):
        assert rewards_list() == []


def test_buying_a_reward_creates_an_order_at_the_rewards_price():
    coffee_in(TENANT_A)
    alice = logged_in(TENANT_A)
    bought = alice.post(f"{REWARDS}/coffee/purchase", {"amount": 1})
    assert bought.status_code == 201, bought.content
    body = bought.json()
    assert (body["amount"], body["description"]) == (1800, "一杯咖啡")
    assert body["prepay_url"] == f"/api/v1/pay/orders/{body['order_id']}/prepay"
    with activate_tenant(context_of(TENANT_A)):
        order = Order.objects.get(pk=body["order_id"])
        assert (order.amount, order.status, order.reward_purchase.reward.code) == (1800, "pending", "coffee")


def test_an_unknown_reward_or_another_tenants_is_404_and_creates_nothing():
    coffee_in(TENANT_A)
    alice_b = logged_in(TENANT_B)
    for code in ("coffee", "tea"):
        refused = alice_b.post(f"{REWARDS}/{code}/purchase")
        assert (refused.status_code, refused.json()["error"]["code"]) == (404, "reward_not_found")
    with activate_tenant(context_of(TENANT_B)):
        assert (Order.objects.count(), RewardPurchase.objects.count()) == (0, 0)


def test_a_reward_paid_with_wechat_pay_adds_its_points_once(merchant_a, notify_live, pay_server):
    coffee_in(TENANT_A, bonus_points=50)
    alice = logged_in(TENANT_A)
    assert alice.post("/api/v1/checkin/checkins").status_code == 201
    bought = alice.post(f"{REWARDS}/coffee/purchase").json()

    prepay = alice.post(bought["prepay_url"])
    assert prepay.status_code == 200, prepay.content
    assert set(prepay.json()) == {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    with activate_tenant(context_of(TENANT_A)):
        out_trade_no = Order.objects.get(pk=bought["order_id"]).out_trade_no
    # The fake WeChat Pay takes the money and posts its signed notification to this process's live server.
    assert [sent["status"] for sent in pay_server.control.pay(out_trade_no)["sent"]] == [204]

    with activate_tenant(context_of(TENANT_A)):
        job_id = OutboxJob.objects.get(func_name=PAYMENT_SUCCEEDED_JOB).id
    job = fetch(job_id)
    job.perform()
    job.perform()  # jobs run at least once: a second run grants nothing more
    assert alice.get("/api/v1/checkin/me").json()["member"]["points"] == 10 + 50
    with activate_tenant(context_of(TENANT_A)):
        assert RewardPurchase.objects.get().granted_at is not None


def test_an_order_that_is_not_a_reward_is_left_alone():
    logged_in(TENANT_A)
    with activate_tenant(context_of(TENANT_A)):
        order = order_create(user=MiniProgramUser.objects.get(), amount=990, description="月卡")
        assert reward_grant(order) is False
        assert Member.objects.count() == 0
