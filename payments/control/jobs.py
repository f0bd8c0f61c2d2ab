"""Platform jobs of the merchants (no active tenant: they belong to the fleet)."""

from payments.control.services import platform_certificates_refresh_all


def wechatpay_certificates_refresh() -> dict[str, int]:
    """Periodic: every certificate-mode merchant's platform certificates, downloaded once for the fleet."""
    return platform_certificates_refresh_all()
