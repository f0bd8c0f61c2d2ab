"""What the fake WeChat server knows: apps, issued tokens, used codes, sessions, faults, delays and counters."""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

FORCE_REFRESH_COUNTER = "/cgi-bin/stable_token#force_refresh"
# Force refreshes WeChat refused (too soon after the previous one, or past the day's quota).
FORCE_REFRESH_REFUSED_COUNTER = "/cgi-bin/stable_token#force_refresh_refused"
# WeChat grants force_refresh=true at most 20 times a day, at least 30 s apart.
FORCE_REFRESH_DAILY_LIMIT = 20
FORCE_REFRESH_SPACING_SECONDS = 30.0
_DAY_SECONDS = 86_400
# WeChat renews a stable token 5 minutes before expiry; a classic token stays valid 5 minutes after the next one.
RENEWAL_SECONDS = 300


class FakeError(Exception):
    """An error answer of the fake server, in WeChat's {"errcode", "errmsg"} shape."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(errcode, errmsg)
        self.errcode = errcode
        self.errmsg = errmsg

    def body(self) -> dict[str, Any]:
        return {"errcode": self.errcode, "errmsg": f"{self.errmsg} rid: fake-{secrets.token_hex(4)}"}


@dataclass
class FakeApp:
    """One registered mini-program."""

    app_id: str
    secret: str
    unionid: bool = False
    # None: every page exists; otherwise subscribe messages may only name these pages.
    pages: frozenset[str] | None = None
    templates: set[str] = field(default_factory=set)
    stable_token: str | None = None
    classic_token: str | None = None


@dataclass
class IssuedToken:
    app_id: str
    expires_at: float


@dataclass
class Fault:
    """The next `times` calls to `endpoint` (of `app_id`, or of any app) answer this instead."""

    endpoint: str
    times: int
    app_id: str | None = None
    errcode: int | None = None
    errmsg: str = "injected by the fake server"
    status: int | None = None
    raw: str | None = None

    def matches(self, endpoint: str, app_id: str) -> bool:
        return self.times > 0 and self.endpoint == endpoint and self.app_id in (None, app_id)


@dataclass
class Delay:
    endpoint: str
    seconds: float
    app_id: str | None = None


class FakeState:
    """All state of one fake server; every read and write happens with `lock` held."""

    def __init__(
        self,
        *,
        token_lifetime: int = 7200,
        risky_words: Iterable[str] = ("risky-word",),
        review_words: Iterable[str] = ("review-word",),
    ) -> None:
        self.lock = threading.RLock()
        self._defaults = (token_lifetime, tuple(risky_words), tuple(review_words))
        self.reset()

    def reset(self) -> None:
        """Forget everything, back to the constructor's settings."""
        with self.lock:
            self.token_lifetime, risky, review = self._defaults
            self.risky_words: list[str] = list(risky)
            self.review_words: list[str] = list(review)
            self.apps: dict[str, FakeApp] = {}
            self.tokens: dict[str, IssuedToken] = {}
            self.used_codes: set[tuple[str, str, str]] = set()
            self.session_keys: dict[tuple[str, str], str] = {}
            self.openid_apps: dict[str, str] = {}
            self.grants: Counter[tuple[str, str, str]] = Counter()
            self.messages: list[dict[str, Any]] = []
            self.faults: list[Fault] = []
            self.delays: list[Delay] = []
            self.counters: defaultdict[str, Counter[str]] = defaultdict(Counter)
            # What each part of the fake (push, media, component, templates) keeps, under the part's name.
            self.parts: dict[str, Any] = {}
            self.force_refreshes: defaultdict[str, list[float]] = defaultdict(list)
            # Seconds added to the wall clock for WeChat's quotas (tests move it with their holder's clock).
            self.clock_offset = 0.0

    def now(self) -> float:
        """The time WeChat's quotas are counted in."""
        return time.time() + self.clock_offset

    def claim_force_refresh(self, app_id: str) -> None:
        """Record one granted force refresh; 45011 under 30 s after the previous one, 45009 past 20 in a day."""
        now = self.now()
        granted = [at for at in self.force_refreshes[app_id] if now - at < _DAY_SECONDS]
        self.force_refreshes[app_id] = granted
        if granted and now - granted[-1] < FORCE_REFRESH_SPACING_SECONDS:
            raise FakeError(45011, "api minute-quota reach limit  mustslower  retry next minute")
        if len(granted) >= FORCE_REFRESH_DAILY_LIMIT:
            raise FakeError(45009, "reach max api daily quota limit")
        granted.append(now)

    def register_app(
        self, app_id: str, secret: str, *, unionid: bool = False, pages: Iterable[str] | None = None
    ) -> None:
        """Add (or replace) an app; its tokens and sessions are kept."""
        with self.lock:
            old = self.apps.get(app_id)
            app = FakeApp(app_id=app_id, secret=secret, unionid=unionid)
            app.pages = frozenset(pages) if pages is not None else None
            if old is not None:
                app.templates, app.stable_token, app.classic_token = old.templates, old.stable_token, old.classic_token
            self.apps[app_id] = app

    def app_with_secret(self, app_id: Any, secret: Any) -> FakeApp:
        """The app, after WeChat's checks: unknown AppID 40013, wrong secret 40125."""
        app = self.apps.get(app_id) if isinstance(app_id, str) else None
        if app is None:
            raise FakeError(40013, "invalid appid")
        if not isinstance(secret, str) or not secrets.compare_digest(secret.encode(), app.secret.encode()):
            raise FakeError(40125, "invalid appsecret")
        return app

    def issue_token(self, app: FakeApp) -> str:
        """A new access_token for app, valid token_lifetime seconds."""
        token = f"fake-token-{secrets.token_hex(16)}"
        self.tokens[token] = IssuedToken(app_id=app.app_id, expires_at=time.time() + self.token_lifetime)
        return token

    def app_for_token(self, token: str | None) -> FakeApp:
        """The app of a valid token: missing 41001, unknown or revoked 40001, expired 42001."""
        if not token:
            raise FakeError(41001, "access_token missing")
        issued = self.tokens.get(token)
        if issued is None or issued.app_id not in self.apps:
            raise FakeError(40001, "invalid credential, access_token is invalid or not latest")
        if issued.expires_at <= time.time():
            raise FakeError(42001, "access_token expired")
        return self.apps[issued.app_id]

    def remaining(self, token: str | None) -> float:
        """Seconds a token stays valid (0 when unknown)."""
        issued = self.tokens.get(token) if token else None
        return max(issued.expires_at - time.time(), 0.0) if issued else 0.0

    def use_code_once(self, app_id: str, kind: str, code: str) -> None:
        """Codes work once per AppID: a login code again is 40163 (code been used), a phone code 40029."""
        if (app_id, kind, code) in self.used_codes:
            if kind == "login":
                raise FakeError(40163, "code been used")
            raise FakeError(40029, "invalid code")
        self.used_codes.add((app_id, kind, code))

    def app_id_of(self, query: dict[str, str], body: dict[str, Any] | None) -> str:
        """The AppID a call is about (for counters, faults and delays); "" when unknown."""
        candidate = query.get("appid") or (body or {}).get("appid")
        if isinstance(candidate, str):
            return candidate
        issued = self.tokens.get(query.get("access_token", ""))
        return issued.app_id if issued else ""

    def take_fault(self, endpoint: str, app_id: str) -> Fault | None:
        """Consume one injected fault for this call, if any."""
        for fault in self.faults:
            if fault.matches(endpoint, app_id):
                fault.times -= 1
                self.faults = [f for f in self.faults if f.times > 0]
                return fault
        return None

    def delay_for(self, endpoint: str, app_id: str) -> float:
        """Seconds to wait before answering this call."""
        return max((d.seconds for d in self.delays if d.endpoint == endpoint and d.app_id in (None, app_id)), default=0)
