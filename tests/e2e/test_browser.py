"""A real browser (Debian's chromium, driven by Playwright) against the shipped stack: nginx -> gunicorn with
master's settings, files collected as a deploy collects them, an rq worker, all under supervisord.

It logs into the admin, onboards a tenant through the form (with an AppSecret the fake WeChat server knows),
watches it become active, suspends it, and opens the API docs. The admin's stylesheet must have been applied
and the Swagger UI must list the operations; every request the browser makes must go to 127.0.0.1 (chromium
resolves no other name, and any request for one fails the test). Screenshots go to the test's own folder
(printed) and the last run's are copied to var/screenshots/.
"""

import json
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.e2e.conftest import Services
from tests.e2e.services import get, manage, wait_for
from tests.e2e.stack import Stack, running_stack
from tests.helpers import BASE_DIR
from wechat.fake_server import FakeWeChatServer

pytestmark = pytest.mark.slow

CHROMIUM = "/usr/bin/chromium"
SITE_NAME = "miniplex.test"
LOOPBACK = {"127.0.0.1", SITE_NAME}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A host name for the site, as a real deployment has one: the Swagger UI behaves differently on
    # 127.0.0.1 and localhost (it would not fetch its validator badge there). It resolves to 127.0.0.1 only.
    # Any other name does not resolve, so even the browser's own requests (which no page sees) stay here.
    f"--host-resolver-rules=MAP {SITE_NAME} 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
ADMIN_USER, ADMIN_PASSWORD = "browser-admin", "browser-admin-password-7f3a"
NEW_APP_ID, NEW_SECRET, NEW_NAME = "wx00000000000000b7", "browser-app-secret-0123", "浏览器测试店 ☕"
LAST_RUN_SCREENSHOTS = BASE_DIR / "var" / "screenshots"
# Django admin's header colour (--header-bg in admin/css/base.css): only there if the stylesheet was applied.
ADMIN_HEADER_BACKGROUND = "rgb(65, 118, 144)"


@dataclass
class Browsed:
    stack: Stack
    wechat: FakeWeChatServer
    static_root: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.stack.nginx_port}"


@pytest.fixture(scope="module")
def browsed(services: Services) -> Iterator[Browsed]:
    with FakeWeChatServer() as wechat:
        wechat.control.register_app(NEW_APP_ID, NEW_SECRET)
        workdir = services.workdir / "browser"
        env = services.env(WECHAT_API_BASE=wechat.base_url, DJANGO_ALLOWED_HOSTS=f"127.0.0.1,{SITE_NAME}")
        with running_stack(workdir, env) as stack:
            manage(
                {
                    **env,
                    "DJANGO_SUPERUSER_USERNAME": ADMIN_USER,
                    "DJANGO_SUPERUSER_PASSWORD": ADMIN_PASSWORD,
                    "DJANGO_SUPERUSER_EMAIL": "browser-admin@example.com",
                },
                "createsuperuser",
                "--noinput",
            )
            yield Browsed(stack=stack, wechat=wechat, static_root=workdir / "static")


def test_static_files_come_from_the_stack_compressed_and_cached_for_good(browsed):
    manifest = json.loads((browsed.static_root / "staticfiles.json").read_text())["paths"]
    hashed = manifest["admin/css/base.css"]
    assert hashed != "admin/css/base.css"  # a content hash in the name

    response = requests.get(f"{browsed.base}/static/{hashed}", headers={"Accept-Encoding": "gzip"}, timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")
    assert response.headers["Content-Encoding"] == "gzip"
    assert "max-age=315360000" in response.headers["Cache-Control"]
    assert "immutable" in response.headers["Cache-Control"]
    assert "--header-bg" in response.text

    # The unhashed name answers too (a page written before a deploy), but is cached briefly.
    plain = get(browsed.stack.nginx_port, "/static/admin/css/base.css")
    assert plain.status_code == 200 and "immutable" not in plain.headers["Cache-Control"]

    # The docs page links the hashed copies of the Swagger UI's own files, and they are there.
    docs = get(browsed.stack.nginx_port, "/api/docs/")
    assert docs.status_code == 200
    for name in ("swagger-ui-dist/swagger-ui.css", "swagger-ui-dist/swagger-ui-bundle.js"):
        path = f"/static/{manifest[f'drf_spectacular_sidecar/{name}']}"
        assert path in docs.text
        assert get(browsed.stack.nginx_port, path).status_code == 200

    icon = get(browsed.stack.nginx_port, "/favicon.ico")
    assert icon.status_code == 200 and icon.headers["Content-Type"] == "image/x-icon"

    missing = get(browsed.stack.nginx_port, "/static/admin/css/no-such-file.css")
    assert missing.status_code == 404 and missing.json()["error"]["code"]


@dataclass
class Traffic:
    """Every request the pages made, those for another host, answers of 400 or more, console errors."""

    requested: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    static: dict[str, int] = field(default_factory=dict)
    console_errors: list[str] = field(default_factory=list)


@pytest.fixture
def screenshots(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "screenshots"
    folder.mkdir()
    print(f"\nscreenshots: {folder}")
    try:
        yield folder
    finally:
        shutil.rmtree(LAST_RUN_SCREENSHOTS, ignore_errors=True)
        shutil.copytree(folder, LAST_RUN_SCREENSHOTS)
        print(f"copied to {LAST_RUN_SCREENSHOTS}")


@pytest.fixture
def browser_page(browsed: Browsed) -> Iterator[tuple]:
    """A chromium page whose every request is recorded; one for any other address than 127.0.0.1 cannot leave."""
    from playwright.sync_api import sync_playwright

    traffic = Traffic()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            # A listener, not page.route(): with routing on, chromium stops asking for /favicon.ico.
            context.on("request", lambda request: _request(request, traffic))
            context.on("response", lambda response: _record(response, traffic))
            opened = context.new_page()
            opened.on("console", lambda message: _console(message, traffic))
            opened.set_default_timeout(30_000)
            yield opened, traffic
        finally:
            browser.close()


def _request(request, traffic: Traffic) -> None:  # noqa: ANN001
    traffic.requested.append(request.url)
    if urlsplit(request.url).hostname not in LOOPBACK:
        traffic.elsewhere.append(request.url)  # it fails too: chromium resolves no other name


def _record(response, traffic: Traffic) -> None:  # noqa: ANN001
    path = urlsplit(response.url).path
    if response.status >= 400:
        traffic.failed.append(f"{response.status} {response.url}")
    if path.startswith("/static/"):
        traffic.static[path] = response.status


def _console(message, traffic: Traffic) -> None:  # noqa: ANN001
    if message.type == "error":
        traffic.console_errors.append(message.text)


def test_a_browser_onboards_a_tenant_suspends_it_and_reads_the_api_docs(browsed, browser_page, screenshots):
    page, traffic = browser_page
    base = browsed.base

    access_log_before = len(browsed.stack.supervised.log("miniplex.access.log"))

    # --- the admin's login, styled -------------------------------------------------------------------------
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", ADMIN_USER)
    page.fill("#id_password", ADMIN_PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")
    assert page.url == f"{base}/admin/", page.inner_text("body")[:1000]
    assert _header_background(page) == ADMIN_HEADER_BACKGROUND
    page.screenshot(path=screenshots / "1-admin-index.png", full_page=True)

    # --- onboarding through the form, then the page follows the job until the tenant is active ------------
    page.goto(f"{base}/admin/tenants/tenant/add/")
    page.fill("#id_app_id", NEW_APP_ID)
    page.fill("#id_name", NEW_NAME)
    page.fill("#id_app_secret", NEW_SECRET)
    page.screenshot(path=screenshots / "2-onboard-form.png", full_page=True)
    page.click("input[type=submit][value=Onboard]")
    page.wait_for_url(f"{base}/admin/tenants/tenant/*/change/")
    assert "its database is being provisioned" in page.text_content(".messagelist")
    _wait_for_status(page, "active")
    wait_for(
        lambda: get(browsed.stack.nginx_port, "/api/v1/ping", NEW_APP_ID).status_code == 200,
        seconds=15,
        what="the new tenant served",
    )
    page.reload()  # now with the time of that request, in Asia/Shanghai
    assert page.input_value("#id_name") == NEW_NAME
    assert re.search(r"last request: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d CST", page.inner_text(".field-facts"))
    assert NEW_SECRET not in page.content()
    page.screenshot(path=screenshots / "3-tenant-active.png", full_page=True)

    # --- suspended with the list's action ------------------------------------------------------------------
    page.goto(f"{base}/admin/tenants/tenant/?q={NEW_APP_ID}")
    page.locator(f"tr:has-text('{NEW_APP_ID}') input.action-select").check()
    page.select_option("select[name=action]", "suspend_selected")
    page.click("button[name=index]")
    # (the admin's message template capitalises the first letter: "Wx...")
    assert f"{NEW_APP_ID} suspended." in page.text_content(".messagelist").lower()
    assert page.inner_text(f"tr:has-text('{NEW_APP_ID}') .field-status").strip() == "suspended"
    page.screenshot(path=screenshots / "4-tenant-suspended.png", full_page=True)
    wait_for(
        lambda: get(browsed.stack.nginx_port, "/api/v1/ping", NEW_APP_ID).status_code == 403,
        seconds=15,
        what="the suspended tenant refused",
    )

    # --- the API docs: the Swagger UI rendered, with the operations ----------------------------------------
    page.goto(f"{base}/api/docs/")
    page.wait_for_selector(".opblock")
    operations = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/auth/login" in operations and "/platform/v1/tenants" in operations, operations
    page.screenshot(path=screenshots / "5-api-docs.png", full_page=True)
    # The same page under a host name: nothing is fetched from anywhere else (no validator badge, no CDN).
    page.goto(f"http://{SITE_NAME}:{browsed.stack.nginx_port}/api/docs/")
    page.wait_for_selector(".opblock")
    page.wait_for_load_state("networkidle")

    # --- what the browser fetched ---------------------------------------------------------------------------
    assert traffic.requested
    assert traffic.elsewhere == [], traffic.elsewhere
    assert {urlsplit(url).hostname for url in traffic.requested} == LOOPBACK
    assert traffic.failed == [], traffic.failed
    assert traffic.console_errors == [], traffic.console_errors
    assert any(path.startswith("/static/admin/css/base.") for path in traffic.static), traffic.static
    assert any("swagger-ui-bundle" in path for path in traffic.static), traffic.static
    assert set(traffic.static.values()) <= {200, 304}, traffic.static
    # The browser asks for /favicon.ico by itself (no page sees that request): nginx's log has its answers.
    since = browsed.stack.supervised.log("miniplex.access.log")[access_log_before:]
    favicon = re.findall(r'"GET /favicon\.ico HTTP/[0-9.]+" (\d{3})', since)
    assert favicon and set(favicon) == {"200"}, favicon


def _header_background(page) -> str:  # noqa: ANN001
    return page.eval_on_selector("#header", "element => getComputedStyle(element).backgroundColor")


def _wait_for_status(page, status: str, *, seconds: float = 120) -> None:  # noqa: ANN001
    """The change page reloads itself every 2 s while the tenant is provisioning; read it until it says `status`."""
    from playwright.sync_api import Error as PlaywrightError

    deadline = time.monotonic() + seconds
    shown = ""
    while time.monotonic() < deadline:
        try:
            shown = page.locator(".field-status .readonly").inner_text(timeout=5_000).strip()
        except PlaywrightError:  # the page was reloading under us; read it again
            continue
        if shown == status:
            return
        time.sleep(0.5)
    raise AssertionError(f"the tenant's page still says {shown!r} after {seconds} s")
