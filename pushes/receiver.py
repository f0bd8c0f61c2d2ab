"""Opening a push: its signature, timestamp, encryption and format checked with the tenant's credentials.

Nothing here writes anything: a push that is refused (wechat.crypto.PushRefused, with its reason) has changed
nothing. Facts: docs/pushes.md (WeChat's 消息推送 guide and its message-encryption scheme).
"""

import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pushes.credentials import PushCredentials
from pushes.exceptions import PushAddresseeMismatch
from wechat.crypto import MessageCrypto, PushRefused, push_signature, signature_valid, xml_build, xml_parse

SAFE, COMPATIBLE, PLAIN = "safe", "compatible", "plain"
JSON, XML = "json", "xml"


@dataclass(frozen=True)
class OpenedPush:
    message: dict[str, Any]
    encrypted: bool  # it came encrypted, so a reply goes back encrypted


def url_check(credentials: PushCredentials, query: Mapping[str, str]) -> str:
    """The echostr of WeChat's server-URL check when its signature is the Token's; PushRefused otherwise."""
    if not signature_valid(
        query.get("signature"), credentials.token, query.get("timestamp", ""), query.get("nonce", "")
    ):
        raise PushRefused("signature")
    return query.get("echostr", "")


def push_open(
    credentials: PushCredentials, query: Mapping[str, str], body: bytes, *, max_bytes: int, tolerance: int
) -> OpenedPush:
    """The message of a POSTed push, in the tenant's mode and format."""
    if len(body) > max_bytes:
        raise PushRefused("size")
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        raise PushRefused("timestamp")
    wants_encrypted = query.get("encrypt_type") == "aes" and bool(query.get("msg_signature"))
    if credentials.mode == SAFE or (credentials.mode == COMPATIBLE and wants_encrypted):
        return OpenedPush(message=_open_encrypted(credentials, query, body), encrypted=True)
    if not signature_valid(query.get("signature"), credentials.token, timestamp, nonce):
        raise PushRefused("signature")
    return OpenedPush(message=body_parse(body, credentials.format), encrypted=False)


def push_addressee_check(credentials: PushCredentials, message: Mapping[str, Any], *, app_id: str) -> None:
    """For keys shared by several tenants: the push must be addressed to the path's tenant.

    Its ToUserName must be the tenant's original id, and an event naming an AppID (a media check's `appid`)
    must name the tenant's (PushAddresseeMismatch otherwise).
    """
    if credentials.addressee is None:
        return
    if message.get("ToUserName") != credentials.addressee:
        raise PushAddresseeMismatch()
    named = [value for key, value in message.items() if key.lower() == "appid" and value not in (None, "")]
    if any(value != app_id for value in named):
        raise PushAddresseeMismatch()


def _open_encrypted(credentials: PushCredentials, query: Mapping[str, str], body: bytes) -> dict[str, Any]:
    outer = body_parse(body, credentials.format)
    encrypted = outer.get("Encrypt")
    if not isinstance(encrypted, str) or not encrypted:
        raise PushRefused("format", "no Encrypt field")
    parts = (query.get("timestamp", ""), query.get("nonce", ""), encrypted)
    if not signature_valid(query.get("msg_signature"), credentials.token, *parts):
        raise PushRefused("signature")
    inner = _crypto(credentials).decrypt(encrypted)
    return body_parse(inner, credentials.format)


def _crypto(credentials: PushCredentials) -> MessageCrypto:
    try:
        return MessageCrypto(
            token=credentials.token, encoding_aes_key=credentials.aes_key, app_id=credentials.app_id_expected
        )
    except ValueError as error:  # settings validate the key: this is a source handing out a broken one
        raise PushRefused("format", "the tenant's EncodingAESKey is unusable") from error


def body_parse(body: bytes, data_format: str) -> dict[str, Any]:
    """A push body's fields: XML through defusedxml, JSON an object; PushRefused("format") for anything else."""
    if data_format == XML:
        return xml_parse(body)
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise PushRefused("format", "not JSON") from error
    if not isinstance(parsed, dict):
        raise PushRefused("format", "not a JSON object")
    return parsed


def reply_build(credentials: PushCredentials, fields: dict[str, Any], *, encrypted: bool) -> tuple[bytes, str]:
    """A passive reply (body, content type) in the tenant's format, encrypted when the push was."""
    plain = _serialize(fields, credentials.format)
    if not encrypted:
        return plain, _content_type(credentials.format)
    ciphertext = _crypto(credentials).encrypt(plain)
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    envelope = {
        "Encrypt": ciphertext,
        "MsgSignature": push_signature(credentials.token, timestamp, nonce, ciphertext),
        "TimeStamp": timestamp,
        "Nonce": nonce,
    }
    return _serialize(envelope, credentials.format), _content_type(credentials.format)


def _serialize(fields: dict[str, Any], data_format: str) -> bytes:
    if data_format == XML:
        return xml_build(fields)
    return json.dumps(fields, ensure_ascii=False).encode()


def _content_type(data_format: str) -> str:
    return "application/xml" if data_format == XML else "application/json"
