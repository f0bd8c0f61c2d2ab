"""The rooms of the project and the arrows between them (docs/architecture.md, "Rooms and layers").

Read from the source with ast, every import of every module outside tests and migrations, the ones inside
functions included (a lazy import is an arrow all the same):
- `core` imports nothing of the project;
- `tenants` and `routers` import no tenant app (TENANT_APPS, outside their own package) and neither the
  console nor the API, the layers above them;
- no circle between top-level packages, nor between modules (tenants.services <-> tenants.provisioning was one).
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings

from tests.helpers import BASE_DIR

SKIPPED_PARTS = {"tests", "migrations", ".venv", "var", "node_modules"}


def project_packages(root: Path) -> set[str]:
    return {path.parent.name for path in root.glob("*/__init__.py")} | {"config"}


def imported_modules(source: str) -> Iterator[str]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def package_arrows(root: Path) -> dict[tuple[str, str], set[str]]:
    """(from package, to package) -> the modules of `from` that import `to`."""
    packages = project_packages(root)
    arrows: dict[tuple[str, str], set[str]] = {}
    for path in sorted(root.glob("*/**/*.py")):
        relative = path.relative_to(root)
        source_package = relative.parts[0]
        if source_package not in packages or SKIPPED_PARTS & set(relative.parts):
            continue
        for module in imported_modules(path.read_text(encoding="utf-8")):
            target = module.split(".")[0]
            if target in packages and target != source_package:
                arrows.setdefault((source_package, target), set()).add(str(relative))
    return arrows


def module_arrows(root: Path) -> set[tuple[str, str]]:
    """(importing module, imported module prefix) for every import, by dotted name."""
    found = set()
    for path in sorted(root.glob("*/**/*.py")):
        relative = path.relative_to(root)
        if SKIPPED_PARTS & set(relative.parts):
            continue
        name = ".".join(relative.with_suffix("").parts)
        found |= {(name, module) for module in imported_modules(path.read_text(encoding="utf-8"))}
    return found


def project_modules(root: Path) -> dict[str, Path]:
    modules = {}
    for path in root.glob("*/**/*.py"):
        relative = path.relative_to(root)
        if SKIPPED_PARTS & set(relative.parts):
            continue
        parts = list(relative.with_suffix("").parts)
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def module_graph(root: Path) -> set[tuple[str, str]]:
    """(module, module of the project it imports), names resolved to the modules that exist."""
    modules = project_modules(root)
    graph = set()
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                # `from tenants import cache` imports the module tenants.cache; `from tenants.jobs import enqueue`
                # the package tenants.jobs.
                submodules = [f"{node.module}.{alias.name}" for alias in node.names]
                targets = [target for target in submodules if target in modules] or [node.module]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph.add((name, target))
    return graph


def circles(arrows: set[tuple[str, str]]) -> list[list[str]]:
    """Every circle of the graph, each once, as a path that comes back to its start."""
    graph: dict[str, set[str]] = {}
    for start, end in arrows:
        graph.setdefault(start, set()).add(end)
    found: list[list[str]] = []

    def walk(path: list[str]) -> None:
        for nxt in sorted(graph.get(path[-1], ())):
            if nxt == path[0]:
                found.append([*path, nxt])
            elif nxt not in path and nxt > path[0]:  # each circle from its smallest member only
                walk([*path, nxt])

    for node in sorted(graph):
        walk([node])
    return found


def tenant_app_packages() -> dict[str, str]:
    """TENANT_APPS by label -> the module path of each app (accounts, tenants.outbox)."""
    return {label: apps.get_app_config(label).name for label in settings.TENANT_APPS}


def forbidden_arrows(root: Path) -> list[str]:
    arrows = package_arrows(root)
    problems = [
        f"core -> {end} ({', '.join(sorted(files))})" for (start, end), files in arrows.items() if start == "core"
    ]
    tenant_modules = tenant_app_packages().values()
    for name, module in sorted(module_arrows(root)):
        room = name.split(".")[0]
        if room not in ("tenants", "routers"):
            continue
        for tenant_module in tenant_modules:
            inside_own_room = tenant_module.split(".")[0] == room
            if not inside_own_room and (module == tenant_module or module.startswith(f"{tenant_module}.")):
                problems.append(f"{name} -> {module} (a tenant app)")
        if module.split(".")[0] in ("console", "api"):
            problems.append(f"{name} -> {module} (a layer above {room})")
    problems += [" -> ".join(circle) for circle in circles(set(arrows))]
    problems += [" -> ".join(circle) for circle in circles(module_graph(root))]
    return problems


def test_the_checker_sees_each_kind_of_forbidden_arrow(tmp_path):
    """The checker itself: a tree with every forbidden arrow is refused on each of them."""
    for package, source in {
        "core": "def f():\n    from tenants.models import Tenant\n",
        "tenants": "import accounts.models\nfrom console.facts import tenant_facts_get\n",
        "routers": "from api.throttling import TenantRateThrottle\n",
        "accounts": "",
        "console": "",
        "api": "",
    }.items():
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
        (tmp_path / package / "module.py").write_text(source)
    problems = forbidden_arrows(tmp_path)
    assert "core -> tenants (core/module.py)" in problems
    assert "tenants.module -> accounts.models (a tenant app)" in problems
    assert "tenants.module -> console.facts (a layer above tenants)" in problems
    assert "routers.module -> api.throttling (a layer above routers)" in problems
    assert "core -> tenants -> core" not in problems  # tenants does not import core here: no circle
    (tmp_path / "tenants" / "back.py").write_text("from core.cache import make_tenant_key\n")
    assert "core -> tenants -> core" in forbidden_arrows(tmp_path)
    (tmp_path / "tenants" / "services.py").write_text("def f():\n    from tenants.provisioning import job\n")
    (tmp_path / "tenants" / "provisioning.py").write_text("from tenants.services import f\n")
    assert "tenants.provisioning -> tenants.services -> tenants.provisioning" in forbidden_arrows(tmp_path)


@pytest.mark.slow
def test_no_forbidden_arrow_and_no_circle_between_the_rooms():
    assert forbidden_arrows(BASE_DIR) == []
