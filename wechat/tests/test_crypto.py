"""WeChat's push signatures, message encryption and safe XML (wechat/crypto.py)."""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from wechat.crypto import MessageCrypto, PushRefused, push_signature, signature_valid, xml_build, xml_parse

TOKEN = "pushtoken"
ENCODING_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx0123456789abcdef"
MESSAGE = b"<xml><Content><![CDATA[hello]]></Content></xml>"
RANDOM_PREFIX = b"0123456789abcdef"
# Worked out once by hand from the documented algorithm (see test_known_answer_is_the_documented_construction):
# key = b64decode(key + "="), IV = key[:16], body = random16 + len(msg) big-endian 4 bytes + msg + AppID (85 bytes),
# padded with 11 bytes of 0x0b to 96, AES-256-CBC, base64.
KNOWN_CIPHERTEXT = (
    "Q3stYC6hdFzMh9T8HCvyDHbN6Fa9cLm9zFzeI/qFIuHpaVjY+9V07So4UCQVPmCHdg+1x7elCwIxFy1B"
    "cXzorS7sZDFyiXwjv7yQIGOI1zaQSMt578Y5SWUFoIo8IZsl"
)
# sha1("1700000000" + "n0nce" + "pushtoken"): the three strings sorted, then joined.
KNOWN_URL_SIGNATURE = "3383944705377b94de4147ca73ade58f4b72926a"
KNOWN_MSG_SIGNATURE = "34b919a29019e271fa58fe40adb68b7968318864"


def crypto(app_id: str = APP_ID) -> MessageCrypto:
    return MessageCrypto(token=TOKEN, encoding_aes_key=ENCODING_AES_KEY, app_id=app_id)


def raw_aes(plain: bytes) -> str:
    """AES-256-CBC of already padded bytes with the test key, base64: to build ciphertexts the module would not."""
    key = base64.b64decode(ENCODING_AES_KEY + "=")
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


def test_signature_is_sha1_of_the_sorted_parts_joined() -> None:
    assert push_signature(TOKEN, "1700000000", "n0nce") == KNOWN_URL_SIGNATURE
    assert push_signature(TOKEN, "n0nce", "1700000000") == KNOWN_URL_SIGNATURE
    expected = hashlib.sha1(b"1700000000n0ncepushtoken").hexdigest()  # noqa: S324
    assert KNOWN_URL_SIGNATURE == expected


def test_msg_signature_covers_the_ciphertext() -> None:
    assert push_signature(TOKEN, "1700000000", "n0nce", KNOWN_CIPHERTEXT) == KNOWN_MSG_SIGNATURE


def test_signature_valid_accepts_upper_case_and_refuses_others() -> None:
    assert signature_valid(KNOWN_URL_SIGNATURE.upper(), TOKEN, "1700000000", "n0nce")
    assert not signature_valid(KNOWN_URL_SIGNATURE, TOKEN, "1700000001", "n0nce")
    assert not signature_valid("", TOKEN, "1700000000", "n0nce")
    assert not signature_valid(None, TOKEN, "1700000000", "n0nce")


def test_known_answer_encryption() -> None:
    assert crypto().encrypt(MESSAGE, random_prefix=RANDOM_PREFIX) == KNOWN_CIPHERTEXT


def test_known_answer_is_the_documented_construction() -> None:
    body = RANDOM_PREFIX + struct.pack(">I", len(MESSAGE)) + MESSAGE + APP_ID.encode()
    assert len(body) == 85
    assert raw_aes(body + bytes([11]) * 11) == KNOWN_CIPHERTEXT


def test_known_answer_decryption() -> None:
    assert crypto().decrypt(KNOWN_CIPHERTEXT) == MESSAGE


@pytest.mark.parametrize("size", [0, 1, 11, 12, 44, 1000])
def test_round_trip_and_padding_to_32_bytes(size: int) -> None:
    message = bytes(range(256)) * 4
    message = message[:size]
    encrypted = crypto().encrypt(message)
    assert len(base64.b64decode(encrypted)) % 32 == 0
    assert crypto().decrypt(encrypted) == message


def test_each_encryption_uses_a_fresh_random_prefix() -> None:
    assert crypto().encrypt(MESSAGE) != crypto().encrypt(MESSAGE)


def test_another_apps_message_is_refused_as_appid() -> None:
    encrypted = crypto("wxotherapp00000000").encrypt(MESSAGE)
    with pytest.raises(PushRefused) as refused:
        crypto().decrypt(encrypted)
    assert refused.value.reason == "appid"


def test_an_app_id_prefix_is_not_enough() -> None:
    encrypted = crypto(APP_ID + "x").encrypt(MESSAGE)
    with pytest.raises(PushRefused) as refused:
        crypto().decrypt(encrypted)
    assert refused.value.reason == "appid"


@pytest.mark.parametrize(
    "padding",
    [bytes([0]) * 32, bytes([33]) * 32, bytes(27) + bytes([5, 4, 5, 5, 5]), bytes(31) + bytes([40])],
    ids=["zero", "past-32", "inconsistent", "past-length"],
)
def test_bad_padding_is_refused_as_format(padding: bytes) -> None:
    body = RANDOM_PREFIX + struct.pack(">I", 4) + b"abcd" + b"wx0123456789ab"  # 38 bytes
    padded = body + bytes([26]) * 26
    encrypted = raw_aes(padded[:32] + padding)
    with pytest.raises(PushRefused) as refused:
        crypto().decrypt(encrypted)
    assert refused.value.reason == "format"


def test_a_length_past_the_end_is_refused() -> None:
    body = RANDOM_PREFIX + struct.pack(">I", 9999) + b"abcd" + APP_ID.encode()
    pad = 32 - len(body) % 32
    with pytest.raises(PushRefused) as refused:
        crypto().decrypt(raw_aes(body + bytes([pad]) * pad))
    assert refused.value.reason == "format"


@pytest.mark.parametrize("encrypted", ["not base64!", "", "QUJD", base64.b64encode(b"x" * 17).decode()])
def test_not_ciphertext_is_refused_as_format(encrypted: str) -> None:
    with pytest.raises(PushRefused) as refused:
        crypto().decrypt(encrypted)
    assert refused.value.reason == "format"


@pytest.mark.parametrize("key", ["short", ENCODING_AES_KEY + "A", "!" * 43])
def test_a_bad_encoding_aes_key_is_a_value_error(key: str) -> None:
    with pytest.raises(ValueError, match="EncodingAESKey"):
        MessageCrypto(token=TOKEN, encoding_aes_key=key, app_id=APP_ID)


def test_xml_parse_reads_fields_nested_and_repeated() -> None:
    body = (
        b"<xml><ToUserName><![CDATA[gh_1]]></ToUserName><CreateTime>1700000000</CreateTime>"
        b"<SubscribeMsgPopupEvent><List><TemplateId><![CDATA[t1]]></TemplateId>"
        b"<SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString></List>"
        b"<List><TemplateId><![CDATA[t2]]></TemplateId></List><List><TemplateId>t3</TemplateId></List>"
        b"</SubscribeMsgPopupEvent><Empty></Empty></xml>"
    )
    fields = xml_parse(body)
    assert fields["ToUserName"] == "gh_1"
    assert fields["CreateTime"] == "1700000000"
    assert fields["Empty"] == ""
    lists = fields["SubscribeMsgPopupEvent"]["List"]
    assert [item["TemplateId"] for item in lists] == ["t1", "t2", "t3"]
    assert lists[0]["SubscribeStatusString"] == "accept"


def test_xml_build_and_parse_round_trip() -> None:
    fields = {"ToUserName": "gh_1", "CreateTime": 1700000000, "Content": "a ]]> b <c>", "Nested": {"A": "1"}}
    parsed = xml_parse(xml_build(fields))
    assert parsed == {"ToUserName": "gh_1", "CreateTime": "1700000000", "Content": "a ]]> b <c>", "Nested": {"A": "1"}}
    assert xml_build({"Content": "x"}) == b"<xml><Content><![CDATA[x]]></Content></xml>"


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<xml><Content>&lol4;</Content></xml>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<xml><Content>&secret;</Content></xml>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE xml SYSTEM "http://127.0.0.1:1/evil.dtd"><xml><Content>x</Content></xml>"""


@pytest.mark.parametrize(
    "body",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, b"<xml><a></xml>", b"", b"not xml", b"<xml>text only</xml>"],
    ids=["billion-laughs", "external-entity", "external-dtd", "unclosed", "empty", "not-xml", "no-fields"],
)
def test_hostile_or_malformed_xml_is_refused_as_format(body: bytes) -> None:
    with pytest.raises(PushRefused) as refused:
        xml_parse(body)
    assert refused.value.reason == "format"


def test_push_refused_knows_only_its_reasons() -> None:
    assert PushRefused("size").reason == "size"
    with pytest.raises(ValueError, match="unknown"):
        PushRefused("other")
