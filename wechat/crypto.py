"""WeChat's push signatures and message encryption, and safe XML for push bodies.

The algorithm (docs/pushes.md, and WeChat's "message encryption technical plan"
https://developers.weixin.qq.com/doc/oplatform/en/Third-party_Platforms/Message_Encryption/Technical_Plan.html):
- signature = SHA1 hex of the sorted strings [Token, timestamp, nonce] (safe mode adds the ciphertext) joined;
- AESKey = Base64_Decode(EncodingAESKey + "="), 32 bytes; AES-256-CBC with IV = the key's first 16 bytes;
- ciphertext = Base64(AES(random 16 bytes + message length, 4 bytes big-endian + message + AppID)), padded with
  PKCS#7 to a multiple of 32 bytes (WeChat pads to 32, not to AES's 16).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct
from collections.abc import Mapping
from typing import Any
from xml.etree.ElementTree import Element, ParseError  # noqa: S405 (only the types; parsing goes through defusedxml)

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# defusedxml ships no type information (and no types- package is pinned).
from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
from defusedxml.ElementTree import fromstring as _defused_fromstring  # type: ignore[import-untyped]

__all__ = [
    "AES_KEY_LENGTH",
    "aes_key_from_encoding_aes_key",
    "ENCODING_AES_KEY_LENGTH",
    "MessageCrypto",
    "PushRefused",
    "push_signature",
    "signature_valid",
    "xml_build",
    "xml_parse",
]

ENCODING_AES_KEY_LENGTH = 43
AES_KEY_LENGTH = 32
_PAD_BLOCK = 32
_RANDOM_LENGTH = 16
_LENGTH_FIELD = struct.Struct(">I")


class PushRefused(Exception):
    """A push that must not be acted on; `reason` says why: signature, timestamp, appid, format or size."""

    REASONS = frozenset({"signature", "timestamp", "appid", "format", "size"})

    def __init__(self, reason: str, detail: str = "") -> None:
        if reason not in self.REASONS:
            raise ValueError(f"unknown push refusal reason {reason!r}")
        super().__init__(f"push refused ({reason}){': ' + detail if detail else ''}")
        self.reason = reason
        self.detail = detail


def push_signature(token: str, *parts: str) -> str:
    """SHA1 hex of the sorted [token, *parts] joined.

    Parts: timestamp and nonce for the URL check and plain mode; safe mode adds the Encrypt field.
    """
    return hashlib.sha1("".join(sorted([token, *parts])).encode()).hexdigest()  # noqa: S324 (WeChat's algorithm)


def signature_valid(given: str | None, token: str, *parts: str) -> bool:
    """Whether `given` is the push signature of these parts (compared in constant time)."""
    if not given:
        return False
    return hmac.compare_digest(given.lower().encode(), push_signature(token, *parts).encode())


def aes_key_from_encoding_aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key of a 43-character EncodingAESKey (ValueError when it is not one)."""
    if len(encoding_aes_key) != ENCODING_AES_KEY_LENGTH:
        raise ValueError(f"EncodingAESKey must be {ENCODING_AES_KEY_LENGTH} characters")
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as error:
        raise ValueError("EncodingAESKey is not base64") from error
    if len(key) != AES_KEY_LENGTH:
        raise ValueError("EncodingAESKey does not decode to 32 bytes")
    return key


class MessageCrypto:
    """Encrypts and decrypts one app's push bodies (safe and compatible modes)."""

    def __init__(self, *, token: str, encoding_aes_key: str, app_id: str) -> None:
        self.token = token
        self.app_id = app_id
        self._key = aes_key_from_encoding_aes_key(encoding_aes_key)

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))

    def encrypt(self, plain: bytes, *, random_prefix: bytes | None = None) -> str:
        """Base64 of the encrypted message (random_prefix: 16 bytes, for known-answer tests only)."""
        prefix = os.urandom(_RANDOM_LENGTH) if random_prefix is None else random_prefix
        if len(prefix) != _RANDOM_LENGTH:
            raise ValueError("the random prefix is 16 bytes")
        body = prefix + _LENGTH_FIELD.pack(len(plain)) + plain + self.app_id.encode()
        pad = _PAD_BLOCK - len(body) % _PAD_BLOCK
        encryptor = self._cipher().encryptor()
        return base64.b64encode(encryptor.update(body + bytes([pad]) * pad) + encryptor.finalize()).decode()

    def decrypt(self, encrypted: str) -> bytes:
        """The message inside; PushRefused("format") on bad base64/padding/length, ("appid") for another app's."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as error:
            raise PushRefused("format", "ciphertext is not base64") from error
        if not data or len(data) % 16:
            raise PushRefused("format", "ciphertext is not whole AES blocks")
        decryptor = self._cipher().decryptor()
        padded = decryptor.update(data) + decryptor.finalize()
        body = _unpad(padded)
        if len(body) < _RANDOM_LENGTH + _LENGTH_FIELD.size:
            raise PushRefused("format", "decrypted message too short")
        (length,) = _LENGTH_FIELD.unpack_from(body, _RANDOM_LENGTH)
        start = _RANDOM_LENGTH + _LENGTH_FIELD.size
        if start + length > len(body):
            raise PushRefused("format", "message length past the end")
        trailing_app_id = body[start + length :]
        if not hmac.compare_digest(trailing_app_id, self.app_id.encode()):
            raise PushRefused("appid", "the message is for another app")
        return body[start : start + length]


def _unpad(padded: bytes) -> bytes:
    pad = padded[-1]
    if not 1 <= pad <= _PAD_BLOCK or padded[-pad:] != bytes([pad]) * pad:
        raise PushRefused("format", "bad padding")
    return padded[:-pad]


def xml_parse(body: bytes) -> dict[str, Any]:
    """The fields of a push's <xml> body; DTDs, entities and external references refused (PushRefused("format")).

    A child with children becomes a dict, a repeated tag a list of its values, anything else its text ("" if none).
    """
    try:
        root = _defused_fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except (DefusedXmlException, ParseError, ValueError) as error:
        raise PushRefused("format", f"not safe, well-formed XML: {type(error).__name__}") from error
    value = _element_value(root)
    if not isinstance(value, dict):
        raise PushRefused("format", "the XML root has no fields")
    return value


def _element_value(element: Element) -> dict[str, Any] | str:
    children = list(element)
    if not children:
        return element.text or ""
    fields: dict[str, Any] = {}
    repeated: set[str] = set()
    for child in children:
        value = _element_value(child)
        if child.tag in repeated:
            fields[child.tag].append(value)
        elif child.tag in fields:
            fields[child.tag] = [fields[child.tag], value]
            repeated.add(child.tag)
        else:
            fields[child.tag] = value
    return fields


def xml_build(fields: Mapping[str, Any]) -> bytes:
    """<xml><K><![CDATA[v]]></K>...</xml>: numbers bare, strings in CDATA, dicts nested, lists as repeated tags."""
    return b"<xml>" + _xml_fields(fields).encode() + b"</xml>"


def _xml_fields(fields: Mapping[str, Any]) -> str:
    parts: list[str] = []
    for key, value in fields.items():
        values = value if isinstance(value, list) else [value]
        parts.extend(f"<{key}>{_xml_value(item)}</{key}>" for item in values)
    return "".join(parts)


def _xml_value(value: Any) -> str:
    if isinstance(value, Mapping):
        return _xml_fields(value)
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int | float):
        return str(value)
    # A "]]>" inside the text would end the CDATA section early: split it across two sections.
    return "<![CDATA[" + str(value).replace("]]>", "]]]]><![CDATA[>") + "]]>"
