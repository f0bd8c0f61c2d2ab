"""The fake WeChat's media_check_async: WeChat's parameters and errors, and the verdict rules of its control API."""

import pytest
import requests

from tests.helpers import TENANT_A, TENANT_B
from tests.workers import wait_for
from wechat.fake_server import FakeWeChatServer, fake_openid

APP_SECRET = "media-secret"
OTHER = "wx00000000000000e5"


@pytest.fixture(scope="module")
def fake():  # noqa: ANN201
    with FakeWeChatServer(apps={TENANT_A: APP_SECRET, OTHER: APP_SECRET}) as server:
        yield server


@pytest.fixture
def token(fake) -> str:  # noqa: ANN001
    fake.state.reset()
    fake.state.register_app(TENANT_A, APP_SECRET)
    fake.state.register_app(OTHER, APP_SECRET)
    for app_id in (TENANT_A, OTHER):
        requests.get(
            f"{fake.base_url}/sns/jscode2session",
            params={"appid": app_id, "secret": APP_SECRET, "js_code": "code-alice", "grant_type": "authorization_code"},
            timeout=5,
        ).raise_for_status()
    body = {"grant_type": "client_credential", "appid": TENANT_A, "secret": APP_SECRET}
    return requests.post(f"{fake.base_url}/cgi-bin/stable_token", json=body, timeout=5).json()["access_token"]


def check(fake, token: str, **overrides) -> dict:  # noqa: ANN001
    body = {
        "media_url": "https://media.example.com/avatars/a.jpg",
        "media_type": 2,
        "version": 2,
        "scene": 1,
        "openid": fake_openid(TENANT_A, "code-alice"),
        **overrides,
    }
    url = f"{fake.base_url}/wxa/media_check_async"
    return requests.post(url, params={"access_token": token}, json=body, timeout=5).json()


def checks(fake) -> list[dict]:  # noqa: ANN001
    return requests.get(f"{fake.base_url}/__control__/media_checks", timeout=5).json()["checks"]


@pytest.mark.parametrize(
    ("overrides", "errcode"),
    [
        ({"openid": "o-nobody"}, 40003),
        ({"openid": fake_openid(OTHER, "code-alice")}, 43104),
        ({"scene": 7}, 40129),
        ({"version": 1}, 47003),
        ({"media_type": 3}, 47003),
        ({"media_url": "ftp://x/a.jpg"}, 47003),
        ({"access_token": "in-the-body"}, 47001),
    ],
)
def test_wechats_errors_for_a_bad_call(fake, token, overrides, errcode):
    assert check(fake, token, **overrides)["errcode"] == errcode
    assert checks(fake) == []


def test_a_bad_token_is_40001(fake, token):
    assert check(fake, "not-a-token")["errcode"] == 40001


def test_a_check_answers_a_trace_id_and_passes_by_default(fake, token):
    answer = check(fake, token)
    assert answer["errcode"] == 0 and answer["trace_id"]
    wait_for(lambda: checks(fake)[0]["pushed"], 5)
    [message] = checks(fake)[0]["pushed"]
    assert message["Event"] == "wxa_media_check" and message["MsgType"] == "event"
    assert (message["appid"], message["trace_id"], message["version"]) == (TENANT_A, answer["trace_id"], 2)
    assert message["result"] == {"suggest": "pass", "label": 100}
    assert message["detail"][0]["suggest"] == "pass"


def test_rules_decide_by_url_and_none_holds_the_answer_until_pushed(fake, token):
    control = f"{fake.base_url}/__control__"
    requests.post(f"{control}/media_verdicts", json={"suggest": "risky", "match": "/bad-"}, timeout=5)
    held_rule = {"suggest": "none", "appid": TENANT_A, "match": "/held-"}
    requests.post(f"{control}/media_verdicts", json=held_rule, timeout=5)
    risky = check(fake, token, media_url="https://m.example.com/bad-1.jpg")["trace_id"]
    held = check(fake, token, media_url="https://m.example.com/held-1.jpg")["trace_id"]
    wait_for(lambda: any(c["pushed"] for c in checks(fake) if c["trace_id"] == risky), 5)
    by_trace = {c["trace_id"]: c for c in checks(fake)}
    assert by_trace[risky]["pushed"][0]["result"]["suggest"] == "risky"
    assert by_trace[held]["pushed"] == []
    requests.post(f"{control}/media_push", json={"trace_id": held, "suggest": "review"}, timeout=5)
    wait_for(lambda: any(c["pushed"] for c in checks(fake) if c["trace_id"] == held), 5)
    assert {c["trace_id"]: c for c in checks(fake)}[held]["pushed"][0]["result"]["suggest"] == "review"
    bad = requests.post(f"{control}/media_verdicts", json={"suggest": "maybe"}, timeout=5)
    assert bad.status_code == 400


def test_a_delayed_answer_is_pushed_later(fake, token):
    requests.post(f"{fake.base_url}/__control__/media_verdicts", json={"suggest": "pass", "delay": 1.0}, timeout=5)
    check(fake, token)
    assert checks(fake)[0]["pushed"] == []
    assert wait_for(lambda: checks(fake)[0]["pushed"], 5) > 0


def test_the_control_api_lists_checks_per_app(fake, token):
    check(fake, token)
    assert [c["appid"] for c in checks(fake)] == [TENANT_A]
    response = requests.get(f"{fake.base_url}/__control__/media_checks", params={"appid": TENANT_B}, timeout=5)
    assert response.json()["checks"] == []
