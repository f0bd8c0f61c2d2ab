"""The cryptography of WeChat Pay v3, written on `cryptography` directly (docs/payments-merchants.md says why).

- Requests and wx.requestPayment parameters are signed SHA256withRSA (PKCS#1 v1.5) with the merchant's private
  key; answers and notifications are verified the same way with WeChat Pay's public key or platform certificate.
- Notification resources and the downloaded platform certificates are AEAD_AES_256_GCM under the 32-byte APIv3
  key (RFC 5116: a 12-byte nonce, the tag appended to the ciphertext, associated data that may be empty).
"""

from __future__ import annotations

import base64
import binascii

from cryptography import x509
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

APIV3_KEY_BYTES = 32
GCM_NONCE_BYTES = 12
MIN_RSA_BITS = 2048


class KeyUnreadable(ValueError):
    """A PEM that is not the key or certificate it should be (the message says what it is instead)."""


def private_key_load(pem: str | bytes) -> rsa.RSAPrivateKey:
    """The merchant's RSA private key (apiclient_key.pem, PKCS#8 or PKCS#1) from its PEM."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise KeyUnreadable(f"the private key is not an unencrypted PEM private key ({error})") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyUnreadable("the private key is not an RSA key (WeChat Pay v3 merchant keys are RSA 2048)")
    if key.key_size < MIN_RSA_BITS:
        raise KeyUnreadable(f"the private key has {key.key_size} bits; WeChat Pay needs at least {MIN_RSA_BITS}")
    return key


def public_key_load(pem: str | bytes) -> rsa.RSAPublicKey:
    """An RSA public key from a public-key PEM (WeChat Pay's pub_key.pem) or from a certificate PEM."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key: object = (
            x509.load_pem_x509_certificate(data).public_key()
            if b"BEGIN CERTIFICATE" in data
            else serialization.load_pem_public_key(data)
        )
    except (ValueError, TypeError) as error:
        raise KeyUnreadable(f"the public key is not a PEM public key or certificate ({error})") from None
    if not isinstance(key, rsa.RSAPublicKey):
        raise KeyUnreadable("the public key is not an RSA key")
    return key


def public_key_pem(key: rsa.RSAPublicKey | rsa.RSAPrivateKey) -> str:
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    return public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def private_key_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def same_key(one: rsa.RSAPublicKey, other: rsa.RSAPublicKey) -> bool:
    return one.public_numbers() == other.public_numbers()


def certificate_load(pem: str | bytes) -> x509.Certificate:
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as error:
        raise KeyUnreadable(f"not a PEM certificate ({error})") from None


def certificate_serial(certificate: x509.Certificate) -> str:
    """The serial as WeChat Pay writes it: upper-case hexadecimal, no separators."""
    return f"{certificate.serial_number:X}"


def rsa_sign(key: rsa.RSAPrivateKey, message: str) -> str:
    signature = key.sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode()


def rsa_verify(key: rsa.RSAPublicKey, message: bytes, signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def aes_gcm_decrypt(apiv3_key: bytes, *, nonce: str, ciphertext_b64: str, associated_data: str = "") -> bytes:
    """Raises InvalidTag (or ValueError) when the key, nonce, data or ciphertext do not belong together."""
    ciphertext = base64.b64decode(ciphertext_b64, validate=True)
    return AESGCM(apiv3_key).decrypt(nonce.encode(), ciphertext, associated_data.encode() or None)


def aes_gcm_encrypt(apiv3_key: bytes, *, nonce: str, plaintext: bytes, associated_data: str = "") -> str:
    """The fake server's half: what WeChat Pay does to a resource before it sends it."""
    return base64.b64encode(
        AESGCM(apiv3_key).encrypt(nonce.encode(), plaintext, associated_data.encode() or None)
    ).decode()


DECRYPT_ERRORS = (InvalidTag, ValueError, binascii.Error)
