"""`manage.py check --deploy` under the production settings, with .env.example filled in as a new operator would
(its two blanks, the secret key and the Fernet keys, given real values): no warning, for TLS at nginx and for
TLS at a load balancer. And the HTTPS variables are what makes it clean: without them Django says so."""

import os
import secrets
import subprocess

import pytest
from cryptography.fernet import Fernet

from tests.helpers import BASE_DIR, PYTHON

pytestmark = pytest.mark.slow

# What differs between the two documented set-ups on Django's side (README, "TLS and proxies"): behind a load
# balancer that appends to X-Forwarded-For too, two proxies of ours do. The rest is nginx's configuration.
TLS_AT_NGINX: dict[str, str] = {}
TLS_AT_A_LOAD_BALANCER = {"TRUSTED_PROXY_COUNT": "2"}


def env_example() -> dict[str, str]:
    values = {}
    for line in (BASE_DIR / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def check_deploy(**overrides: str) -> subprocess.CompletedProcess:
    filled = {
        **env_example(),
        "DJANGO_SETTINGS_MODULE": "config.settings.master",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "TENANT_SECRETS_KEYS": Fernet.generate_key().decode(),
        **overrides,
    }
    # Only the filled-in file and the system's basics: none of the suite's own variables (DJANGO_*, TENANT_*...).
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    env.update({name: value for name, value in filled.items() if value != "" or name.startswith("DJANGO_")})
    return subprocess.run(
        [PYTHON, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "setup", [TLS_AT_NGINX, TLS_AT_A_LOAD_BALANCER], ids=["tls-at-nginx", "tls-at-a-load-balancer"]
)
def test_check_deploy_under_master_with_the_example_environment_has_no_warning(setup):
    result = check_deploy(**setup)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output
    assert "WARNINGS" not in output


def test_without_the_https_variables_check_deploy_names_the_redirect_and_hsts():
    result = check_deploy(DJANGO_SECURE_SSL_REDIRECT="false", DJANGO_SECURE_HSTS_SECONDS="0")
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "security.W004" in output and "security.W008" in output, output
