"""One tenant's merchant, loaded: what signing, verifying and decrypting need, and nothing to persist."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import rsa

PUBLIC_KEY_MODE = "public_key"  # WeChat Pay's public key and its PUB_KEY_ID_... (merchants opened since 2024-09)
CERTIFICATE_MODE = "certificate"  # platform certificates, downloaded from /v3/certificates
PUBLIC_KEY_ID_PREFIX = "PUB_KEY_ID_"


@dataclass(frozen=True)
class MerchantKeys:
    """Immutable, so one loaded copy may serve every thread of a process; repr shows no secret."""

    app_id: str
    mchid: str
    serial: str  # the merchant certificate's serial: names our key in the Authorization header
    private_key: rsa.RSAPrivateKey = field(repr=False)
    apiv3_key: bytes = field(repr=False)
    mode: str = PUBLIC_KEY_MODE
    public_key_id: str = ""
    # Wechatpay-Serial -> the key that verifies what WeChat Pay signs: the public key under its id, and/or the
    # platform certificates under their serials (during a migration WeChat signs with either).
    verify_keys: Mapping[str, rsa.RSAPublicKey] = field(default_factory=dict, repr=False)

    def verify_key(self, serial: str) -> rsa.RSAPublicKey | None:
        return self.verify_keys.get(serial)
