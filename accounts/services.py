"""What a mini-program user does: log in with WeChat, log out, edit the profile, bind a phone number."""

from django.db import transaction

from accounts.models import MiniProgramUser
from accounts.moderation import nickname_check_enqueue
from accounts.tokens import token_issue, token_revoke
from accounts.wechat_access import (
    COMPONENT_NOT_AUTHORIZED_ERRCODE,
    ComponentNotAuthorized,
    access_token_holder,
    wechat_client_for,
)
from core.tenant_context import require_current_tenant
from wechat import SessionInfo, WeChatError


def user_login(*, code: str) -> tuple[MiniProgramUser, str]:
    """Exchanges a wx.login code with the tenant's own AppID; creates or updates the user; issues a token."""
    tenant = require_current_tenant()
    session = _code_exchanged(tenant.app_id, code)
    with transaction.atomic(using=tenant.db_alias):
        user, _created = MiniProgramUser.objects.select_for_update().get_or_create(openid=session["openid"])
        # A newer wx.login replaces session_key: keep the latest only.
        user.session_key = session["session_key"]
        if session["unionid"]:
            user.unionid = session["unionid"]
        user.save(update_fields=["session_key_encrypted", "unionid", "updated_at"])
        return user, token_issue(user=user)


def _code_exchanged(app_id: str, code: str) -> SessionInfo:
    """code2Session: with the AppSecret, or for an authorized tenant with the open platform's token."""
    try:
        return wechat_client_for(app_id).code_to_session(code)
    except WeChatError as error:
        if error.errcode == COMPONENT_NOT_AUTHORIZED_ERRCODE:
            raise ComponentNotAuthorized() from None
        raise


def user_logout(*, raw_token: str) -> None:
    token_revoke(raw_token=raw_token)


def user_update_profile(
    *, user: MiniProgramUser, nickname: str | None = None, avatar_url: str | None = None
) -> MiniProgramUser:
    previous_nickname = user.nickname
    changed = {name: value for name, value in (("nickname", nickname), ("avatar_url", avatar_url)) if value is not None}
    for name, value in changed.items():
        setattr(user, name, value)
    # One transaction: a new nickname is never committed without its check (the job's outbox record and owner).
    with transaction.atomic(using=require_current_tenant().db_alias):
        if changed:
            user.save(update_fields=[*changed, "updated_at"])
        if nickname and nickname != previous_nickname:
            # msgSecCheck in a worker, once committed; a risky nickname is put back (accounts.moderation).
            nickname_check_enqueue(user=user, nickname=nickname, previous=previous_nickname)
    return user


def user_bind_phone(*, user: MiniProgramUser, code: str) -> MiniProgramUser:
    """Asks WeChat for the number behind a getPhoneNumber code and stores it."""
    app_id = require_current_tenant().app_id
    client = wechat_client_for(app_id)
    phone_info = access_token_holder().call_with_token(app_id, lambda token: client.get_phone_number(token, code))
    user.phone = phone_info["phoneNumber"]
    user.save(update_fields=["phone", "updated_at"])
    return user
