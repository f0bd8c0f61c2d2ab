"""The open platform's two doors that WeChat and the owner's browser knock on (no X-AppID: /wechat/v1/).

- POST /wechat/v1/component/events: the 授权事件接收URL (ticket, authorized, updateauthorized, unauthorized).
- GET /wechat/v1/component/authorized/<link>?auth_code=...: where the authorization page sends the browser back.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from component.authorization import wechat_actor
from component.conf import component_enabled
from component.events import event_decrypt, event_handle
from component.exceptions import AuthorizationLinkInvalid, ComponentNotConfigured
from component.permissions import permissions_missing
from component.services import authorization_return
from core.client_address import client_address
from core.exceptions import ApplicationError
from core.responses import error_response
from tenants.models import Tenant
from wechat.crypto import PushRefused

logger = logging.getLogger(__name__)


class PushRefusedError(ApplicationError):
    code = "push_refused"
    message = "This push is not a valid one from WeChat for this platform."
    status = 400


@csrf_exempt
@require_POST
def component_events_view(request: HttpRequest) -> HttpResponse:
    """Verify, decrypt and act on one push; answer "success" as WeChat expects, or a JSON refusal."""
    if not component_enabled():
        return error_response(ComponentNotConfigured())
    try:
        fields = event_decrypt(query=request.GET, body=request.body)
        info_type = event_handle(fields=fields, address=client_address(request))
    except PushRefused as refused:
        logger.warning("component push refused (%s)", refused.reason)
        return error_response(PushRefusedError(extra={"reason": refused.reason}))
    except ApplicationError as error:
        return error_response(error)
    logger.info("component push %s handled", info_type)
    return HttpResponse("success", content_type="text/plain")


@require_GET
def authorization_return_view(request: HttpRequest, link: str) -> HttpResponse:
    """The owner authorized: complete it (tenant created or linked) and show what was granted."""
    if not component_enabled():
        return error_response(ComponentNotConfigured())
    auth_code = request.GET.get("auth_code", "")
    if not auth_code or len(auth_code) > 512 or len(link) > 64:
        return error_response(AuthorizationLinkInvalid())
    try:
        authorizer = authorization_return(
            link=link, auth_code=auth_code, actor=wechat_actor(address=client_address(request), via="redirect")
        )
    except ApplicationError as error:
        return error_response(error)
    tenant = Tenant.objects.filter(app_id=authorizer.app_id).first()
    context = {
        "authorizer": authorizer,
        "tenant": tenant,
        "missing": permissions_missing(authorizer.func_info),
    }
    return render(request, "component/authorized.html", context)
