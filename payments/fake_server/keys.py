"""WeChat Pay's own keys in the fake: one RSA key per merchant (its public key and its platform certificate).

Generated once per mchid and process (RSA 2048 takes a moment), so a test suite's many fakes and merchants
stay fast; the platform certificate is self-signed, which is all a verifier looks at (its key and serial).
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

_lock = threading.Lock()


@functools.lru_cache(maxsize=256)
def _key(seed: str) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def wechatpay_key(mchid: str, generation: int = 0) -> rsa.RSAPrivateKey:
    with _lock:
        return _key(f"{mchid}/{generation}")


def public_key_id(mchid: str, generation: int = 0) -> str:
    digest = hashlib.sha256(f"{mchid}/{generation}".encode()).hexdigest()[:24].upper()
    return f"PUB_KEY_ID_{digest}"


def platform_certificate(mchid: str, generation: int = 0) -> x509.Certificate:
    return _certificate(mchid, generation)


@functools.lru_cache(maxsize=256)
def _certificate(mchid: str, generation: int) -> x509.Certificate:
    key = wechatpay_key(mchid, generation)
    serial = int(hashlib.sha256(f"cert/{mchid}/{generation}".encode()).hexdigest()[:32], 16)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Tenpay.com Root CA (fake)")])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"WeChat Pay platform {mchid} (fake)")]))
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=5 * 365))
        .sign(key, hashes.SHA256())
    )


def merchant_keypair_for_tests(seed: str) -> rsa.RSAPrivateKey:
    """A merchant's own key (apiclient_key.pem) for tests and the demo: cached like WeChat Pay's."""
    with _lock:
        return _key(f"merchant/{seed}")


def merchant_certificate_for_tests(seed: str) -> x509.Certificate:
    """The merchant certificate (apiclient_cert.pem) whose serial the merchant configures."""
    return _merchant_certificate(seed)


@functools.lru_cache(maxsize=256)
def _merchant_certificate(seed: str) -> x509.Certificate:
    key = merchant_keypair_for_tests(seed)
    serial = int(hashlib.sha256(f"merchant-cert/{seed}".encode()).hexdigest()[:32], 16)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"merchant {seed} (fake)")])
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=5 * 365))
        .sign(key, hashes.SHA256())
    )
