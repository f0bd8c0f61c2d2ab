"""Each tenant's ext_json, built from the release's template (what the code reads with wx.getExtConfigSync).

The template is a JSON object. Its strings may name the tenant's "$app_id" and "$name"; its optional
"per_tenant" object maps an AppID to values merged over the rest for that tenant only (objects merge key by
key, anything else replaces). "extAppid" is always the tenant's AppID, and "ext.name" its name unless given.
"""

import json
from string import Template
from typing import Any

from component.releases.exceptions import ReleaseInvalid

PER_TENANT = "per_tenant"


def ext_json_template_check(template: Any) -> dict[str, Any]:
    """The template, or ReleaseInvalid saying what is wrong with it."""
    if not isinstance(template, dict):
        raise ReleaseInvalid("The ext_json template must be a JSON object.")
    per_tenant = template.get(PER_TENANT, {})
    if not isinstance(per_tenant, dict) or not all(isinstance(values, dict) for values in per_tenant.values()):
        raise ReleaseInvalid('"per_tenant" must map AppIDs to JSON objects.')
    if "ext" in template and not isinstance(template["ext"], dict):
        raise ReleaseInvalid('"ext" must be a JSON object.')
    return template


def ext_json_for(*, template: dict[str, Any], app_id: str, name: str) -> str:
    """The ext_json string this tenant's wxa/commit sends."""
    common = {key: value for key, value in template.items() if key != PER_TENANT}
    merged = _merged(common, template.get(PER_TENANT, {}).get(app_id, {}))
    filled = _filled(merged, {"app_id": app_id, "name": name})
    filled["extAppid"] = app_id
    ext = filled.setdefault("ext", {})
    if isinstance(ext, dict):
        ext.setdefault("name", name)
    # Chinese names go out as UTF-8 text, as WeChat's samples send them.
    return json.dumps(filled, ensure_ascii=False, sort_keys=True)


def _merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merged(result[key], value)
        else:
            result[key] = value
    return result


def _filled(value: Any, names: dict[str, str]) -> Any:
    """Every string with $app_id / $name filled in (any other "$" is left as it is)."""
    if isinstance(value, str):
        return Template(value).safe_substitute(names)
    if isinstance(value, dict):
        return {key: _filled(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [_filled(item, names) for item in value]
    return value
