"""`manage.py start_tenant_app NAME`: Django's startapp for a tenant app, wired the Miniplex way.

The app is made from tenants/app_template/ (Django's template machinery: `{{ app_name }}`, `.py-tpl` files), then
named in config/settings/tenant_apps.py (so it is installed, lives in every tenant's database and its api_urls are
served under /api/v1/) and in pyproject.toml's test paths and mypy files (so `./dev test` runs and checks it).
docs/tenant-apps.md explains every generated file.
"""

import ast
import re
import shutil
import subprocess
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.apps import apps
from django.core.management.base import CommandError
from django.core.management.templates import TemplateCommand

from config.env import BASE_DIR

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "app_template"
TENANT_APPS_FILE = BASE_DIR / "config" / "settings" / "tenant_apps.py"
PYPROJECT_FILE = BASE_DIR / "pyproject.toml"
# Lower case, as Django's app labels and MySQL's table names are best kept: `shop`, `booking_slots`.
APP_NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{1,30}", re.ASCII)


class Command(TemplateCommand):
    help = "Creates the tenant app NAME (model, service, selector, API, job, cache, tests) and wires it in."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("name", help="the app's name: a lower-case Python identifier, e.g. shop")

    def handle(self, *args: Any, name: str, **options: Any) -> None:  # type: ignore[override]
        if not APP_NAME_PATTERN.fullmatch(name):
            raise CommandError(f"{name!r}: an app name is 2 to 31 lower-case letters, digits or _, a letter first")
        self.app_or_project, self.a_or_an = "app", "an"
        self.validate_name(name)
        if name in {config.label for config in apps.get_app_configs()}:
            raise CommandError(f"{name!r} is the label of an installed app already (Django's admin, auth, ...)")
        target = BASE_DIR / name
        if target.exists():
            raise CommandError(f"{target} exists already")
        target.mkdir()
        try:
            template_options = {"template": str(TEMPLATE_DIR), "extensions": ["py"], "files": []}
            super().handle("app", name, str(target), **{**options, **template_options})
            _tidy(target)
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
        tenant_apps_add(name)
        pyproject_add(name)
        self.stdout.write(self.style.SUCCESS(f"Created the tenant app {name} in {target}."))
        self.stdout.write(
            "Next: ./dev test (its tests run with the rest), then `manage.py migrate_tenants` on every deployment.\n"
            f"Its endpoint: /api/v1/{name}/notes (docs/tenant-apps.md walks through it)."
        )

    _name_checked = False

    def validate_name(self, name: str, name_or_dir: str = "name") -> None:
        # Checked once, before the directory exists: Django's own checks run after this command made it, and
        # would find the new empty directory itself as an importable (namespace) package.
        if not self._name_checked:
            super().validate_name(name, name_or_dir)
            self._name_checked = True


def _tidy(target: Path) -> None:
    """Sorts imports and formats the new files with the project's ruff (the order depends on the app's name)."""
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists():
        return
    subprocess.run([str(ruff), "check", "--fix", "--quiet", "--select", "I", str(target)], check=False)  # noqa: S603
    subprocess.run([str(ruff), "format", "--quiet", str(target)], check=False)  # noqa: S603


def tenant_apps_list(source: str) -> tuple[list[str], ast.stmt]:
    """tenant_apps.py's LOCAL_TENANT_APPS, read as data (never imported here), and the statement that holds it."""
    for node in ast.parse(source).body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        value = getattr(node, "value", None)
        if value is not None and any(getattr(target, "id", None) == "LOCAL_TENANT_APPS" for target in targets):
            names = ast.literal_eval(value)
            if isinstance(names, list) and all(isinstance(item, str) for item in names):
                return names, node
    raise CommandError(f"{TENANT_APPS_FILE}: LOCAL_TENANT_APPS is not a plain list of names")


def tenant_apps_add(name: str) -> None:
    """Adds `name` at the end of tenant_apps.py's LOCAL_TENANT_APPS; the rest of the file stays as it is.

    A list written one name a line (as this command writes it) gets one more line before its `]`, so the comments
    beside the names stay; any other form of the statement is written anew, one name a line.
    """
    source = TENANT_APPS_FILE.read_text(encoding="utf-8")
    names, statement = tenant_apps_list(source)
    if name in names:
        return
    lines = source.splitlines(keepends=True)
    end = statement.end_lineno or statement.lineno  # ast.parse always sets end_lineno; typed Optional
    if end > statement.lineno and lines[end - 1].strip() == "]":
        new = [*lines[: end - 1], f'    "{name}",\n', *lines[end - 1 :]]
    else:
        items = "".join(f'    "{item}",\n' for item in [*names, name])
        new = [*lines[: statement.lineno - 1], f"LOCAL_TENANT_APPS = [\n{items}]\n", *lines[end:]]
    TENANT_APPS_FILE.write_text("".join(new), encoding="utf-8")


def pyproject_add(name: str) -> None:
    """Adds the app to pytest's testpaths and mypy's files, so the suite runs its tests and checks its types."""
    text = PYPROJECT_FILE.read_text(encoding="utf-8")
    for key in ("testpaths", "files"):
        text = toml_list_append(text, key=key, value=name)
    PYPROJECT_FILE.write_text(text, encoding="utf-8")


def toml_list_append(text: str, *, key: str, value: str) -> str:
    """`key = [...]` (one line or several) with `"value"` added at its end, unless it holds it already."""
    match = re.search(rf"^{re.escape(key)} = \[(?P<items>[^\]]*)\]", text, re.MULTILINE)
    if match is None:
        raise CommandError(f"{PYPROJECT_FILE}: no `{key} = [...]` list to add {value!r} to; add it by hand")
    items = match.group("items")
    if re.search(rf'"{re.escape(value)}"', items):
        return text
    stripped = items.rstrip()
    separator = ", " if stripped and not stripped.endswith(",") else (" " if stripped else "")
    new_items = f'{stripped}{separator}"{value}"{items[len(stripped) :]}'
    return text[: match.start("items")] + new_items + text[match.end("items") :]
