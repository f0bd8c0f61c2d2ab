"""WeChat's code-management and template-library APIs, as this app calls them (docs/template-releases.md).

A tenant's calls (commit, submit_audit, audit status, version info, release) go with the tenant's own token from
the fleet's one holder (accounts.wechat_access): its authorizer token in component mode, its stable token in
secret mode. The template library belongs to the platform and goes with the component_access_token.
"""

from collections.abc import Callable
from typing import Any, TypeVar

from accounts.wechat_access import access_token_holder
from component.tokens import authorizer_call, component_call
from wechat import WeChatClient

T = TypeVar("T")


def with_component_token(fn: Callable[[str], T]) -> T:
    """fn(component_access_token), from the open platform's one refresher; a stale token is replaced once."""
    return component_call(fn)


def tenant_call(app_id: str, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """One call for a tenant, with its token (replaced once if WeChat says it is stale)."""
    # The token travels in the query string; the client's AppSecret is never used by these calls.
    client = WeChatClient(app_id, "")

    def call(token: str) -> dict[str, Any]:
        return client.call(method, path, params={"access_token": token}, body=body)

    # A 61003 (authorization cancelled) marks the authorizer and suspends its tenant (component.tokens).
    return authorizer_call(app_id, lambda: access_token_holder().call_with_token(app_id, call))


def platform_call(
    method: str, path: str, body: dict[str, Any] | None = None, params: dict[str, str] | None = None
) -> dict[str, Any]:
    """One call of the platform itself (the template library), with the component's token."""
    client = WeChatClient("component", "")

    def call(token: str) -> dict[str, Any]:
        return client.call(method, path, params={**(params or {}), "access_token": token}, body=body)

    return with_component_token(call)


# --- the template library --------------------------------------------------------------------------------------


def template_drafts_list() -> list[dict[str, Any]]:
    """The drafts uploaded from the developer tools: [{draft_id, user_version, user_desc, create_time}]."""
    return list(platform_call("GET", "/wxa/gettemplatedraftlist").get("draft_list", []))


def template_add_from_draft(*, draft_id: int, template_type: int = 0) -> None:
    """A draft into the library (85064: no such draft, 85065: the library is full)."""
    platform_call("POST", "/wxa/addtotemplate", body={"draft_id": draft_id, "template_type": template_type})


def templates_list(*, template_type: int | None = None) -> list[dict[str, Any]]:
    """The library's templates: [{template_id, user_version, user_desc, create_time, ...}]."""
    params = {"template_type": str(template_type)} if template_type is not None else None
    return list(platform_call("GET", "/wxa/gettemplatelist", params=params).get("template_list", []))


# --- one tenant's code -------------------------------------------------------------------------------------------


def code_commit(*, app_id: str, template_id: int, ext_json: str, user_version: str, user_desc: str) -> None:
    body = {"template_id": template_id, "ext_json": ext_json, "user_version": user_version, "user_desc": user_desc}
    tenant_call(app_id, "POST", "/wxa/commit", body)


def code_version_info(*, app_id: str) -> dict[str, Any]:
    """{exp_info?: {exp_time, exp_version, exp_desc}, release_info?: {release_time, release_version, ...}}."""
    return tenant_call(app_id, "POST", "/wxa/getversioninfo", {})


def code_submit_audit(*, app_id: str, request: dict[str, Any]) -> int:
    """The trial version to WeChat's reviewers; returns the auditid."""
    return int(tenant_call(app_id, "POST", "/wxa/submit_audit", request)["auditid"])


def code_audit_status(*, app_id: str, auditid: int) -> dict[str, Any]:
    """{status: 0 approved, 1 rejected, 2 auditing, 3 withdrawn, 4 delayed; reason?, ScreenShot?}."""
    return tenant_call(app_id, "POST", "/wxa/get_auditstatus", {"auditid": auditid})


def code_latest_audit(*, app_id: str) -> dict[str, Any]:
    """The latest audit of the app, whoever submitted it: auditid, status, user_version, submit_audit_time, ..."""
    return tenant_call(app_id, "GET", "/wxa/get_latest_auditstatus")


def code_release(*, app_id: str) -> None:
    tenant_call(app_id, "POST", "/wxa/release", {})
