"""The open platform's ticket and tokens, one refresher each for the whole fleet (docs/open-platform.md).

- component_verify_ticket: pushed every 10 minutes, valid 12 hours; kept in the control database and in Redis
  (for the rest of its validity), the last good one used while pushes are missed; with none valid, WeChat is
  asked to push one (api_start_push_ticket).
- component_access_token (2 h): the AccessTokenHolder of wechat.tokens under its own keys, refreshed ahead.
- each authorizer's access token: served by the fleet's one holder of tenant tokens
  (accounts.wechat_access.access_token_holder), whose fetch for a component tenant is `authorizer_token_fetch`
  here: it refreshes with the authorizer's refresh token and writes the new access token and the (maybe rotated)
  refresh token to the control database in one UPDATE.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from functools import lru_cache
from typing import TypeVar

from cryptography.fernet import InvalidToken
from django.db import transaction
from django.utils import timezone

from component.authorization import COMPONENT_NOT_AUTHORIZED, authorization_lost
from component.client import AuthorizerTokens, ComponentClient
from component.conf import component_credentials
from component.exceptions import AuthorizationLost, AuthorizerNotFound, ComponentTicketMissing
from component.models import TICKET_VALIDITY, Authorizer, ComponentTicket
from core.exceptions import REDIS_UNREACHABLE
from core.redis import get_redis
from tenants.secrets import secret_decrypt, secret_encrypt
from wechat import conf as wechat_conf
from wechat.exceptions import WeChatError
from wechat.tokens import AccessTokenHolder

logger = logging.getLogger(__name__)

T = TypeVar("T")

# WeChat's doc suggests refreshing the component token well ahead (its example: after 1 h 50 min of 2 h).
COMPONENT_REFRESH_MARGIN_SECONDS = 600
# An access token stored in the database is reused (Redis lost it) only while it has this much life left.
STORED_TOKEN_MIN_SECONDS = 300
# While no ticket is valid, WeChat is asked for a push at most once in this many seconds by the whole fleet.
PUSH_ASK_SPACING_SECONDS = 60
# 61023: "refresh_token is invalid" (rotated by a refresh whose answer we lost, or authorization cancelled).
REFRESH_TOKEN_INVALID = 61023


def component_client() -> ComponentClient:
    return ComponentClient(component_credentials())


def _ticket_key() -> str:
    return f"{wechat_conf.get_redis_key_prefix()}:component:ticket:{component_credentials().app_id}"


# --- The ticket ------------------------------------------------------------------------------------------


def ticket_store(*, ticket: str) -> None:
    """Keep a ticket WeChat pushed: in the control database (the record) and Redis (for its 12 h)."""
    app_id = component_credentials().app_id
    ComponentTicket.objects.update_or_create(
        component_app_id=app_id,
        defaults={"ticket_encrypted": secret_encrypt(ticket), "received_at": timezone.now()},
    )
    try:
        get_redis().set(_ticket_key(), secret_encrypt(ticket), ex=int(TICKET_VALIDITY.total_seconds()))
    except REDIS_UNREACHABLE:
        logger.warning("component_verify_ticket not cached in Redis (unreachable); the database has it")
    logger.info("component_verify_ticket of %s stored", app_id)


def ticket_current() -> str | None:
    """The last ticket received, while it is valid (Redis first, then the database); None when there is none."""
    try:
        cached = get_redis().get(_ticket_key())
    except REDIS_UNREACHABLE:
        cached = None
    if cached is not None:
        try:
            return secret_decrypt(cached.decode() if isinstance(cached, bytes) else str(cached))
        except InvalidToken:
            pass  # cached under a key rotated out since (rotate_secrets_key re-encrypts the database's copy)
    row = ComponentTicket.objects.filter(component_app_id=component_credentials().app_id).first()
    if row is None or row.expires_at <= timezone.now():
        return None
    return secret_decrypt(row.ticket_encrypted)


def ticket_required() -> str:
    """The current ticket; with none valid, WeChat is asked to push one and ComponentTicketMissing is raised."""
    ticket = ticket_current()
    if ticket is not None:
        return ticket
    if push_ask_claimed():
        logger.warning("no valid component_verify_ticket; asking WeChat to push one (api_start_push_ticket)")
        component_client().start_push_ticket()
    raise ComponentTicketMissing()


def push_ask_claimed() -> bool:
    """Whether this process asks WeChat for a push now: once a minute for the fleet (Redis SET NX)."""
    key = f"{wechat_conf.get_redis_key_prefix()}:component:push-asked:{component_credentials().app_id}"
    try:
        return bool(get_redis().set(key, "1", nx=True, ex=PUSH_ASK_SPACING_SECONDS))
    except REDIS_UNREACHABLE:
        return True  # better one call too many than no ticket at all


# --- The component token ---------------------------------------------------------------------------------


def _component_token_fetch(app_id: str, force: bool) -> tuple[str, int]:
    return component_client().component_token(ticket_required())


@lru_cache(maxsize=1)
def component_token_holder() -> AccessTokenHolder:
    """This process's handle on the fleet-wide component_access_token (Redis)."""
    return AccessTokenHolder(
        get_redis(),
        fetch=_component_token_fetch,
        force_limited=False,
        key_prefix=f"{wechat_conf.get_redis_key_prefix()}:component",
        refresh_margin=COMPONENT_REFRESH_MARGIN_SECONDS,
    )


def component_access_token() -> str:
    """The platform's current component_access_token (fetched with the ticket when due)."""
    return component_token_holder().get_token(component_credentials().app_id)


def component_call(fn: Callable[[str], T]) -> T:
    """fn(component_access_token); a 40001/42001 replaces the token once for the whole fleet and retries once."""
    return component_token_holder().call_with_token(component_credentials().app_id, fn)


def authorizer_call(app_id: str, fn: Callable[[], T]) -> T:
    """fn(), a WeChat call made for an authorizer (login, token refresh, code calls): the one place a 61003 is seen.

    A 61003 means WeChat no longer holds the authorization: the authorizer is marked unauthorized and its tenant
    suspended as the unauthorized push does (a push WeChat sends once and we may have lost); the error goes on.
    """
    try:
        return fn()
    except WeChatError as error:
        if error.errcode == COMPONENT_NOT_AUTHORIZED:
            authorization_lost(app_id=app_id)
        raise


# --- Authorizer tokens -----------------------------------------------------------------------------------


def authorizer_get(*, app_id: str) -> Authorizer:
    authorizer = Authorizer.objects.filter(app_id=app_id).first()
    if authorizer is None:
        raise AuthorizerNotFound()
    return authorizer


def authorizer_token_fetch(app_id: str, force: bool) -> tuple[str, int]:
    """The authorizer's access token: the stored one while it lives (unless rejected), else a refresh.

    Called by the holder with its Redis lock held, so one process of the fleet refreshes an authorizer at a time.
    """
    authorizer = authorizer_get(app_id=app_id)
    if authorizer.status != Authorizer.Status.AUTHORIZED:
        raise AuthorizationLost("The owner cancelled this mini-program's authorization.")
    remaining = _stored_token_seconds(authorizer)
    if not force and remaining >= STORED_TOKEN_MIN_SECONDS:
        # Redis lost the record, the database still has a good token: WeChat is not asked.
        return secret_decrypt(authorizer.access_token_encrypted), remaining
    return _authorizer_refresh(authorizer)


def _stored_token_seconds(authorizer: Authorizer) -> int:
    if not authorizer.access_token_encrypted or authorizer.access_token_expires_at is None:
        return 0
    return max(int((authorizer.access_token_expires_at - timezone.now()).total_seconds()), 0)


def _authorizer_refresh(authorizer: Authorizer) -> tuple[str, int]:
    """api_authorizer_token with the stored refresh token; the answer is stored before it is used.

    `refresh_started_at` is written first (write-ahead): if it is still set when the next refresh starts, the
    previous refresher died between WeChat's answer and our write, WeChat may have rotated the refresh token
    we hold, and the current one is taken from api_get_authorizer_list. WeChat keeps the previous refresh token
    working for 5 minutes, so a refresh token read from the list or stored by us is never older than that.
    """
    interrupted = authorizer.refresh_started_at is not None
    Authorizer.objects.filter(pk=authorizer.pk).update(refresh_started_at=timezone.now())
    refresh_token = secret_decrypt(authorizer.refresh_token_encrypted)
    if interrupted:
        logger.warning("authorizer %s: the previous refresh did not finish; reconciling", authorizer.app_id)
        refresh_token = _refresh_token_reconciled(authorizer.app_id, refresh_token)
    client = component_client()

    def refreshed() -> AuthorizerTokens:
        return authorizer_call(
            authorizer.app_id,
            lambda: component_call(
                lambda token: client.authorizer_token(token, app_id=authorizer.app_id, refresh_token=refresh_token)
            ),
        )

    try:
        tokens = refreshed()
    except WeChatError as error:
        if error.errcode != REFRESH_TOKEN_INVALID or interrupted:
            raise
        refresh_token = _refresh_token_reconciled(authorizer.app_id, refresh_token)
        tokens = refreshed()
    authorizer_tokens_store(
        authorizer=authorizer, access_token=tokens.access_token, expires_in=tokens.expires_in,
        refresh_token=tokens.refresh_token,
    )  # fmt: skip
    logger.info(
        "authorizer %s: access token refreshed (refresh token %s)",
        authorizer.app_id,
        "rotated" if tokens.refresh_token != refresh_token else "unchanged",
    )
    return tokens.access_token, tokens.expires_in


def _refresh_token_reconciled(app_id: str, held: str) -> str:
    """The authorizer's refresh token as WeChat lists it now (api_get_authorizer_list); stored when it changed."""
    client = component_client()
    listed = component_call(client.authorizer_refresh_tokens).get(app_id)
    if listed is None:
        raise AuthorizationLost()
    if listed != held:
        Authorizer.objects.filter(app_id=app_id).update(refresh_token_encrypted=secret_encrypt(listed))
        logger.warning("authorizer %s: refresh token recovered from WeChat's authorizer list", app_id)
    return listed


def authorizer_tokens_store(*, authorizer: Authorizer, access_token: str, expires_in: int, refresh_token: str) -> None:
    """The access token and the refresh token WeChat answered with, together: one UPDATE of the row."""
    with transaction.atomic():
        Authorizer.objects.filter(pk=authorizer.pk).update(
            access_token_encrypted=secret_encrypt(access_token),
            access_token_expires_at=timezone.now() + timedelta(seconds=expires_in),
            refresh_token_encrypted=secret_encrypt(refresh_token),
            token_version=authorizer.token_version + 1,
            refresh_started_at=None,
        )
