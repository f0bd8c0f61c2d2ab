"""What tenant apps contribute to the operators' console, so the console and the registry name no tenant app.

A tenant app registers, in its AppConfig.ready(), the facts the console shows for each tenant (on the tenant's
admin page, its retire page and in the platform API's `facts`) and pages of its own beside the tenant's page
(an admin URL `<tenant>/<name>/`, behind the same view permission as the tenant's page). Every contribution is
read by the console with the tenant active, one tenant at a time, so a contributor writes plain ORM reads and
can never read another tenant's database. A second tenant app registers its own; nothing here changes.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TenantFact:
    name: str  # the key in the platform API's facts and the label on the admin page ("users")
    read: Callable[[], int]  # called with the tenant active


@dataclass(frozen=True)
class TenantPage:
    name: str  # the URL's last segment, and its name: admin:tenants_tenant_<name>
    label: str  # the button on the tenant's page
    template: str  # rendered with `tenant` and what `read` returns
    read: Callable[[], dict[str, Any]]  # called with the tenant active: the template's context


_facts: dict[str, TenantFact] = {}
_pages: dict[str, TenantPage] = {}


def register_tenant_fact(*, name: str, read: Callable[[], int]) -> None:
    _register(_facts, TenantFact(name=name, read=read))


def register_tenant_page(*, name: str, label: str, template: str, read: Callable[[], dict[str, Any]]) -> None:
    _register(_pages, TenantPage(name=name, label=label, template=template, read=read))


def tenant_facts_registered() -> list[TenantFact]:
    return list(_facts.values())


def tenant_pages_registered() -> list[TenantPage]:
    return list(_pages.values())


def _register(into: dict[str, Any], item: TenantFact | TenantPage) -> None:
    # Two apps claiming one name would make one of them vanish from the page without a word.
    if item.name in into and into[item.name] != item:
        raise ValueError(f"console: {item.name!r} is registered twice")
    into[item.name] = item
