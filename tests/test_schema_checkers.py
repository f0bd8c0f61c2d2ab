"""Outside checkers of the OpenAPI schema: drf-spectacular's validator, and schemathesis against a live server.

schemathesis (v4) reads the schema from the running server's /api/schema/ and sends generated requests to every
operation, tenant ones under a real tenant with a real user's token (logged in through the fake WeChat server),
platform ones with a staff token; the destructive platform calls (suspend, secret, retire) run against a
throwaway tenant this test provisions. Its default checks (no 5xx, statuses, content types, headers and bodies
as documented, valid data accepted, invalid data refused, ...) must find nothing.
"""

import json
import os
import subprocess
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.contrib.auth.models import User
from knox.models import AuthToken

from tests.helpers import (
    BASE_DIR,
    PYTHON,
    TENANT_A,
    free_port,
    gunicorn_argv,
    run_manage,
    running_server,
    subprocess_env,
)
from tests.test_settings import MASTER_SECRETS

pytestmark = pytest.mark.slow

THROWAWAY_APP_ID = "wx00000000000000e5"
# Fixed, so a run is repeatable; another seed or more examples for a deeper look: MINIPLEX_SCHEMATHESIS_SEED=7
# MINIPLEX_SCHEMATHESIS_EXAMPLES=200 ./dev test tests/test_schema_checkers.py
SEED = int(os.environ.get("MINIPLEX_SCHEMATHESIS_SEED", "20261201"))
MAX_EXAMPLES = int(os.environ.get("MINIPLEX_SCHEMATHESIS_EXAMPLES", "50"))
# schemathesis' own default for valid data, plus 400 where only the state of WeChat or the registry decides.
ACCEPTED_OR_REFUSED = '["2xx", "3xx", 400, 401, 403, 404, 409, 429, "5xx"]'


def spectacular(env: dict[str, str]) -> subprocess.CompletedProcess:
    return run_manage("spectacular", "--validate", "--fail-on-warn", "--file", os.devnull, env=env)


def test_spectacular_validates_the_schema_without_a_warning_under_test_settings():
    result = spectacular(subprocess_env())
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr and "Error" not in result.stderr, result.stderr


def master_env() -> dict[str, str]:
    clean = {key: value for key, value in os.environ.items() if key not in MASTER_SECRETS and key != "DJANGO_DEBUG"}
    return {**clean, **MASTER_SECRETS, "DJANGO_SETTINGS_MODULE": "config.settings.master", "PYTHONPATH": str(BASE_DIR)}


def test_spectacular_validates_the_schema_without_a_warning_under_master_settings():
    result = spectacular(master_env())
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr and "Error" not in result.stderr, result.stderr


def test_check_deploy_reports_nothing_of_the_schema_under_master_settings():
    # drf-spectacular's warnings are system checks too (drf_spectacular.W001: 9 of them, one per collision).
    result = run_manage("check", "--deploy", env=master_env())
    assert "drf_spectacular" not in result.stdout + result.stderr, result.stdout + result.stderr


# --- schemathesis ---------------------------------------------------------------------------------------


def schemathesis_config(path: Path, *, user_token: str, logout_token: str, staff_token: str) -> Path:
    """One run, two kinds of credentials: each operation gets the ones its API takes."""
    path.write_text(
        textwrap.dedent(
            f"""\
            seed = {SEED}
            workers = 2

            [generation]
            max-examples = {MAX_EXAMPLES}

            [[operations]]
            include-path-regex = "^/api/v1/"
            exclude-path = "/api/v1/auth/logout"
            headers = {{ "X-AppID" = "{TENANT_A}", "Authorization" = "Bearer {user_token}" }}
            # The same as parameters: the stateful phase generates a case first and applies the fixed values after,
            # and only the parameters among them reach the case (the headers only the request), so without this its
            # "bad X-AppID" cases were sent with the good one and their 200s reported as invalid data accepted.
            parameters = {{ "X-AppID" = "{TENANT_A}", "Authorization" = "Bearer {user_token}" }}

            [[operations]]
            # A code of the right form that WeChat does not know is a 400 (wechat_code_invalid), whatever the schema;
            # so are bytes that are no JPEG, PNG or WebP image (avatar_invalid: the schema can only say "binary").
            include-name = ["POST /api/v1/auth/login", "POST /api/v1/me/phone", "POST /api/v1/me/avatar"]
            checks.positive_data_acceptance.expected-statuses = {ACCEPTED_OR_REFUSED}

            [[operations]]
            # Logging out revokes the token it is sent with: a token of its own keeps the others' alive.
            include-path = "/api/v1/auth/logout"
            headers = {{ "X-AppID" = "{TENANT_A}", "Authorization" = "Bearer {logout_token}" }}
            parameters = {{ "X-AppID" = "{TENANT_A}", "Authorization" = "Bearer {logout_token}" }}

            [[operations]]
            include-path-regex = "^/platform/v1/"
            headers = {{ "Authorization" = "Token {staff_token}" }}
            parameters = {{ "app_id" = "{THROWAWAY_APP_ID}", "Authorization" = "Token {staff_token}" }}

            [[operations]]
            # An AppSecret WeChat refuses (wechat_secret_rejected), a confirmation that is not the AppID, an
            # unknown database server, a private key that is no PEM key or a merchant WeChat Pay does not know
            # (payment_merchant_rejected), push settings whose mode needs an EncodingAESKey none was stored for
            # are 400s that no schema can rule out.
            include-name = [
                "POST /platform/v1/tenants",
                "POST /platform/v1/tenants/{{app_id}}/secret",
                "POST /platform/v1/tenants/{{app_id}}/retire",
                "PUT /platform/v1/tenants/{{app_id}}/payment",
                "PUT /platform/v1/tenants/{{app_id}}/push",
            ]
            checks.positive_data_acceptance.expected-statuses = {ACCEPTED_OR_REFUSED}
            """
        )
    )
    return path


def operations_count(schema: dict) -> int:
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    return sum(1 for path in schema["paths"].values() for method in path if method in methods)


def login(base_url: str, code: str) -> str:
    response = requests.post(
        f"{base_url}/api/v1/auth/login", json={"code": code}, headers={"X-AppID": TENANT_A}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()["token"]


@pytest.fixture
def throwaway_tenant(tenant_db: None, wechat) -> str:  # noqa: ANN001
    from tenants.services import tenant_provision

    secret = "throwaway-secret-e5"
    wechat.control.register_app(THROWAWAY_APP_ID, secret)
    tenant_provision(app_id=THROWAWAY_APP_ID, name="Throwaway", app_secret=secret)
    return THROWAWAY_APP_ID  # dropped after the test with every tenant that is not a session one


@pytest.fixture
def staff_token(tenant_db: None) -> Iterator[str]:
    user = User.objects.create_superuser("schemathesis-staff", "st@example.com", "pw-for-tests")
    yield AuthToken.objects.create(user=user)[1]
    user.delete()


def test_schemathesis_finds_nothing_against_the_live_schema(tmp_path, wechat, throwaway_tenant, staff_token):
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = subprocess_env(
        WECHAT_API_BASE=wechat.base_url,
        WECHAT_TIMEOUT_SECONDS="2",
        # The throttles would answer most of the run with (documented) 429s instead of exercising the API.
        API_THROTTLE_RATE_USER="1000000/min",
        API_THROTTLE_RATE_ANON="1000000/min",
        AVATARS_UPLOAD_RATE="1000000/min",
    )
    # Its log lines go to a file: running_server's pipe is not read, and a full pipe would block the server.
    log = tmp_path / "gunicorn.log"
    argv = gunicorn_argv(port, "-w", "2", "--preload", "--capture-output", "--error-logfile", str(log))
    with running_server(argv, f"{base_url}/healthz", env):
        operations = operations_count(requests.get(f"{base_url}/api/schema/?format=json", timeout=10).json())
        config = schemathesis_config(
            tmp_path / "schemathesis.toml",
            user_token=login(base_url, "code-schemathesis"),
            logout_token=login(base_url, "code-schemathesis~2"),
            staff_token=staff_token,
        )
        report = tmp_path / "report.json"
        result = subprocess.run(
            [
                PYTHON,
                str(BASE_DIR / "tests" / "schemathesis_cli.py"),  # `st`, with a guard for a CPython 3.11.7 bug
                "--config-file",
                str(config),
                "run",
                f"{base_url}/api/schema/?format=json",
                "--report",
                "json,har",  # the HAR file has every request and answer, for reading a failure
                "--report-har-path",
                str(tmp_path / "report.har"),
                "--report-json-path",
                str(report),
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=170 * max(1, MAX_EXAMPLES // 50),
            cwd=tmp_path,
        )
    (tmp_path / "st.out").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, f"see {tmp_path / 'st.out'}:\n" + result.stdout[-20000:] + result.stderr[-4000:]
    assert "Traceback" not in log.read_text(), log.read_text()[-5000:]
    summary = json.loads(report.read_text())
    assert summary["complete"] and summary["stop_reason"] == "completed"
    # Every operation the server publishes was tested (30 and more: tenant, platform, payments, pushes, ...).
    assert summary["operations"]["tested"] == summary["operations"]["total"] == operations >= 30
    assert summary["failures"] == [] and summary["errors"] == []
    assert summary["test_cases"]["with_failures"] == 0 and summary["test_cases"]["errored"] == 0
    assert summary["test_cases"]["generated"] >= operations * MAX_EXAMPLES  # fuzzing alone makes MAX_EXAMPLES each
    print(f"schemathesis: {summary['test_cases']['generated']} cases, 0 failures, {summary['running_time']:.0f} s")
