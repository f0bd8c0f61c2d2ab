import base64
import os

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from wechat.crypto import decrypt_encrypted_data
from wechat.exceptions import WeChatDecryptError
from wechat.fake_server import encrypt_for_tests

APP_ID = "wxcrypto0000000001"
SESSION_KEY = base64.b64encode(b"0123456789abcdef").decode()
PAYLOAD = {"nickName": "小明", "watermark": {"appid": APP_ID, "timestamp": 1700000000}}


def test_decrypts_payload_of_this_app() -> None:
    encrypted, iv = encrypt_for_tests(session_key=SESSION_KEY, payload=PAYLOAD)
    assert decrypt_encrypted_data(session_key=SESSION_KEY, iv=iv, encrypted_data=encrypted, app_id=APP_ID) == PAYLOAD


@pytest.mark.parametrize(
    "payload",
    [
        {"nickName": "x", "watermark": {"appid": "wx-another-app"}},
        {"nickName": "x"},
        b"not json at all",
        b"[1, 2, 3]",
    ],
)
def test_payload_of_another_app_or_not_json_is_rejected(payload: dict[str, object] | bytes) -> None:
    encrypted, iv = encrypt_for_tests(session_key=SESSION_KEY, payload=payload)
    with pytest.raises(WeChatDecryptError):
        decrypt_encrypted_data(session_key=SESSION_KEY, iv=iv, encrypted_data=encrypted, app_id=APP_ID)


def test_bad_padding_is_rejected() -> None:
    iv = os.urandom(16)
    # One block whose last byte is 0: never valid PKCS#7.
    encryptor = Cipher(algorithms.AES(base64.b64decode(SESSION_KEY)), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(b"{}" + b"\x00" * 14) + encryptor.finalize()
    with pytest.raises(WeChatDecryptError, match="padding"):
        decrypt_encrypted_data(
            session_key=SESSION_KEY,
            iv=base64.b64encode(iv).decode(),
            encrypted_data=base64.b64encode(ciphertext).decode(),
            app_id=APP_ID,
        )


def test_wrong_session_key_is_rejected() -> None:
    encrypted, iv = encrypt_for_tests(session_key=SESSION_KEY, payload=PAYLOAD)
    other_key = base64.b64encode(b"fedcba9876543210").decode()
    with pytest.raises(WeChatDecryptError):
        decrypt_encrypted_data(session_key=other_key, iv=iv, encrypted_data=encrypted, app_id=APP_ID)


@pytest.mark.parametrize(
    ("session_key", "iv", "encrypted"),
    [
        ("not base64!", base64.b64encode(b"i" * 16).decode(), base64.b64encode(b"c" * 16).decode()),
        (
            base64.b64encode(b"short").decode(),
            base64.b64encode(b"i" * 16).decode(),
            base64.b64encode(b"c" * 16).decode(),
        ),
        (SESSION_KEY, base64.b64encode(b"i" * 16).decode(), base64.b64encode(b"c" * 15).decode()),
    ],
)
def test_malformed_inputs_are_rejected(session_key: str, iv: str, encrypted: str) -> None:
    with pytest.raises(WeChatDecryptError):
        decrypt_encrypted_data(session_key=session_key, iv=iv, encrypted_data=encrypted, app_id=APP_ID)
