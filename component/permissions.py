"""The permission sets (权限集, WeChat's func_info ids) Miniplex's features need of an authorizer.

The owner may grant only part of what the platform asks for (WeChat's doc on api_query_auth: check func_info),
so each feature that needs a set refuses with `component_permission_missing` when it was not granted, and the
admin and the platform API show what is missing. Ids: WeChat's "Mini Program permission set" table
(https://developers.weixin.qq.com/doc/oplatform/en/Third-party_Platforms/2.0/product/miniprogram_authority.html).
"""

from component.exceptions import ComponentPermissionMissing
from component.models import Authorizer

# feature -> (permission set id, its name at WeChat)
FEATURE_PERMISSION_SETS: dict[str, tuple[int, str]] = {
    # wxa/commit, submit_audit, release (component.releases).
    "code_release": (18, "小程序开发与数据分析 (development and data analysis)"),
    # wxa/getwxacodeunlimit and the other mini-program code APIs.
    "wxacode": (17, "获取小程序码 (mini-program codes)"),
}


def permissions_missing(func_info: list[int]) -> dict[str, str]:
    """feature -> the name of the set it needs, for each feature whose set was not granted."""
    granted = set(func_info)
    return {feature: name for feature, (set_id, name) in FEATURE_PERMISSION_SETS.items() if set_id not in granted}


def authorizer_permission_require(*, app_id: str, feature: str) -> None:
    """Refuse (ComponentPermissionMissing) a feature of a component tenant whose owner did not grant its set.

    A tenant with its own AppSecret has every permission of its own account: nothing to check.
    """
    set_id, name = FEATURE_PERMISSION_SETS[feature]
    authorizer = Authorizer.objects.filter(app_id=app_id).first()
    if authorizer is None:
        return
    if authorizer.status != Authorizer.Status.AUTHORIZED or set_id not in authorizer.func_info:
        raise ComponentPermissionMissing(
            f"The mini-program's owner did not grant the permission set {set_id} ({name}) that {feature} needs; "
            "they must authorize Miniplex again and tick it.",
            extra={"permission_set": set_id, "feature": feature},
        )
