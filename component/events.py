"""The authorization-event receiver's logic: verify, decrypt and act on one push of the 授权事件接收URL.

Third-party platforms get safe mode and XML only: the body is <xml><AppId/><Encrypt/></xml>, the query carries
timestamp, nonce and msg_signature = SHA1 of the sorted [Token, timestamp, nonce, Encrypt]; the decrypted XML
ends with the component's AppID (wechat.crypto). What WeChat pushes here: the component_verify_ticket every 10
minutes, and authorized / updateauthorized / unauthorized. Anything else is refused and changes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from component import conf
from component.authorization import authorization_cancel, wechat_actor
from component.services import authorization_push
from component.tokens import ticket_store
from wechat.crypto import MessageCrypto, PushRefused, signature_valid, xml_parse

logger = logging.getLogger(__name__)

# A push older or newer than this is refused (a replayed capture, or a clock far off).
TIMESTAMP_TOLERANCE_SECONDS = 300
MAX_BODY_BYTES = 64 * 1024
KNOWN_INFO_TYPES = frozenset({"component_verify_ticket", "authorized", "updateauthorized", "unauthorized"})


def event_decrypt(*, query: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """The decrypted fields of one push; PushRefused (reason) when it is not WeChat's, for this component."""
    credentials = conf.component_credentials()
    if len(body) > MAX_BODY_BYTES:
        raise PushRefused("size", f"over {MAX_BODY_BYTES} bytes")
    if query.get("encrypt_type") != "aes":
        raise PushRefused("format", "third-party platforms push in safe mode only (encrypt_type=aes)")
    encrypted = xml_parse(body).get("Encrypt")
    if not isinstance(encrypted, str) or not encrypted:
        raise PushRefused("format", "no Encrypt field")
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    if not signature_valid(query.get("msg_signature"), credentials.token, timestamp, nonce, encrypted):
        raise PushRefused("signature")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > TIMESTAMP_TOLERANCE_SECONDS:
        raise PushRefused("timestamp")
    crypto = MessageCrypto(token=credentials.token, encoding_aes_key=credentials.aes_key, app_id=credentials.app_id)
    fields = xml_parse(crypto.decrypt(encrypted))
    if fields.get("AppId") != credentials.app_id:
        raise PushRefused("appid", "the push names another component")
    return fields


def event_handle(*, fields: Mapping[str, Any], address: str = "") -> str:
    """Act on one decrypted push; returns its InfoType. PushRefused("format") for what is not ours to act on."""
    info_type = fields.get("InfoType")
    if info_type not in KNOWN_INFO_TYPES:
        raise PushRefused("format", f"InfoType {str(info_type)[:40]!r} is not handled here")
    if info_type == "component_verify_ticket":
        ticket = fields.get("ComponentVerifyTicket")
        if not isinstance(ticket, str) or not ticket:
            raise PushRefused("format", "no ComponentVerifyTicket")
        ticket_store(ticket=ticket)
        return info_type
    app_id = fields.get("AuthorizerAppid")
    if not isinstance(app_id, str) or not app_id:
        raise PushRefused("format", "no AuthorizerAppid")
    actor = wechat_actor(address=address, push=info_type)
    if info_type == "unauthorized":
        authorization_cancel(app_id=app_id, actor=actor)
        return info_type
    code = fields.get("AuthorizationCode")
    if not isinstance(code, str) or not code:
        raise PushRefused("format", "no AuthorizationCode")
    authorization_push(auth_code=code, pre_auth_code=str(fields.get("PreAuthCode") or ""), actor=actor)
    return info_type
