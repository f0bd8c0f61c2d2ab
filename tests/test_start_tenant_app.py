"""`manage.py start_tenant_app demo` in a copy of the tree: the app it writes is wired in, lint-clean, needs no new
migration, its generated tests pass as written (two tenants), and migrate_tenants applies its migration."""

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tenants.services import tenant_provision
from tests.helpers import BASE_DIR, PYTHON, subprocess_env

THROWAWAY_APP_ID = "wx0000000000000d30"
RUN = os.environ.get("MINIPLEX_TEST_RUN", "")
RUFF = Path(PYTHON).with_name("ruff")


def copy_of_the_tree(target: Path) -> Path:
    """The files a clone would have (tracked or new, not ignored): no .venv, var or caches."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=BASE_DIR, capture_output=True, check=True
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = BASE_DIR / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


def run(tree: Path, *argv: str, env: dict[str, str], timeout: int = 120) -> subprocess.CompletedProcess:
    result = subprocess.run(argv, cwd=tree, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{' '.join(argv)}:\n{result.stdout}\n{result.stderr}"
    return result


# What the copy's processes keep of this one's environment: not the settings, since the test settings wrote their
# defaults into os.environ (config.env.set_defaults), and this session's control database name among them.
KEPT_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


def own_environment() -> dict[str, str]:
    """The copy's own test run: databases and keys of their own, apart from this session's."""
    env = {key: value for key, value in os.environ.items() if key in KEPT_VARIABLES or key.startswith("MYSQL_ADMIN_")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.test", MINIPLEX_TEST_RUN=f"{RUN}gen")
    return env


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = copy_of_the_tree(tmp_path_factory.mktemp("tree"))
    run(tree, PYTHON, "manage.py", "start_tenant_app", "demo", env=own_environment())
    return tree


@pytest.mark.slow  # manage.py, ruff and a pytest session of its own in the copy
def test_the_generated_app_is_wired_in_and_its_tests_pass(tree: Path):
    env = own_environment()
    assert '"demo",' in (tree / "config" / "settings" / "tenant_apps.py").read_text()
    pyproject = tomllib.loads((tree / "pyproject.toml").read_text())
    assert "demo" in pyproject["tool"]["pytest"]["ini_options"]["testpaths"]
    assert "demo" in pyproject["tool"]["mypy"]["files"]

    checked = run(tree, PYTHON, "manage.py", "makemigrations", "demo", "--check", "--dry-run", env=env)
    assert "No changes detected" in checked.stdout
    run(tree, str(RUFF), "check", "demo", env=env)
    run(tree, str(RUFF), "format", "--check", "demo", env=env)

    tests = run(tree, PYTHON, "-m", "pytest", "demo", "-q", "-p", "no:cacheprovider", env=env, timeout=300)
    assert " passed" in tests.stdout and "failed" not in tests.stdout and "error" not in tests.stdout, tests.stdout


@pytest.mark.slow  # manage.py in the copy
def test_migrate_tenants_applies_the_new_apps_migration(tree: Path, tenant_db: None):
    # A tenant of this session, provisioned by code that knows no `demo`; the copy's command migrates it.
    tenant_provision(app_id=THROWAWAY_APP_ID, name="Throwaway")
    migrated = run(tree, PYTHON, "manage.py", "migrate_tenants", THROWAWAY_APP_ID, env=subprocess_env())
    assert f"{THROWAWAY_APP_ID}: applied 1 (demo.0001_initial)" in migrated.stdout

    again = run(tree, PYTHON, "manage.py", "migrate_tenants", THROWAWAY_APP_ID, env=subprocess_env())
    assert f"{THROWAWAY_APP_ID}: up to date" in again.stdout


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("accounts", "conflicts"),
        ("tests", "conflicts"),
        ("Shop", "lower-case"),
        ("x", "lower-case"),
        ("admin", "label"),
    ],
)
def test_a_name_that_is_taken_or_not_lower_case_is_refused_before_anything_is_written(name, why):
    before = {
        path: path.read_text() for path in (BASE_DIR / "pyproject.toml", BASE_DIR / "config/settings/tenant_apps.py")
    }
    with pytest.raises(CommandError, match=why):
        call_command("start_tenant_app", name)
    assert not (BASE_DIR / name).exists() or name in {"accounts", "tests"}
    assert {path: path.read_text() for path in before} == before


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("LOCAL_TENANT_APPS: list[str] = []\n", 'LOCAL_TENANT_APPS = [\n    "shop",\n]\n'),
        (
            '"""Doc."""\n\nLOCAL_TENANT_APPS = [\n    "checkin",  # the example\n]\n# after\n',
            '"""Doc."""\n\nLOCAL_TENANT_APPS = [\n    "checkin",  # the example\n    "shop",\n]\n# after\n',
        ),
        ('LOCAL_TENANT_APPS = ["a", "shop"]\n', 'LOCAL_TENANT_APPS = ["a", "shop"]\n'),
    ],
)
def test_the_new_app_is_added_to_tenant_apps_py_and_the_rest_kept(tmp_path, monkeypatch, before, after):
    from tenants.management.commands import start_tenant_app

    target = tmp_path / "tenant_apps.py"
    target.write_text(before)
    monkeypatch.setattr(start_tenant_app, "TENANT_APPS_FILE", target)
    start_tenant_app.tenant_apps_add("shop")
    assert target.read_text() == after


def test_the_new_app_is_added_to_a_toml_list_on_one_line_or_several():
    from tenants.management.commands.start_tenant_app import toml_list_append

    text = 'testpaths = ["core", "tests"]\nfiles = ["a",\n         "b"]\n'
    added = toml_list_append(toml_list_append(text, key="testpaths", value="shop"), key="files", value="shop")
    assert added == 'testpaths = ["core", "tests", "shop"]\nfiles = ["a",\n         "b", "shop"]\n'
    assert toml_list_append(added, key="files", value="shop") == added
    with pytest.raises(CommandError, match="no `markers"):
        toml_list_append(text, key="markers", value="shop")
