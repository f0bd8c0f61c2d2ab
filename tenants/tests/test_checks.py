"""Configuration problems are Django system checks with ids and hints: `manage.py check` reports them all at once."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from tenants.checks import app_placement_check, tenant_servers_check


def ids(errors):
    return [error.id for error in errors]


def test_the_shipped_settings_pass_every_check():
    assert app_placement_check() == []
    assert tenant_servers_check() == []


def test_an_app_in_both_lists_and_an_app_with_models_in_neither_are_named(settings):
    settings.TENANT_APPS = [*settings.TENANT_APPS, "tenants"]
    settings.CONTROL_APPS = [label for label in settings.CONTROL_APPS if label != "console"]
    errors = app_placement_check()
    assert ids(errors) == ["miniplex.E003", "miniplex.E003"]
    assert "'tenants' is in both" in errors[0].msg
    assert "'console' has models but is in neither" in errors[1].msg
    assert errors[1].hint


def test_a_server_without_its_databases_and_an_unknown_default_server_are_named(settings):
    settings.TENANT_DB_SERVER_NAMES = [*settings.TENANT_DB_SERVER_NAMES, "second"]
    settings.TENANT_DB_DEFAULT_SERVER = "third"
    errors = tenant_servers_check()
    assert ids(errors) == ["miniplex.E004"] * 3
    assert "TENANT_DB_SECOND_DDL_URL" in (errors[0].hint or "")
    assert "'third' is not one of" in errors[2].msg


def test_manage_py_check_reports_all_problems_at_once(settings):
    settings.TENANT_DB_DEFAULT_SERVER = "third"
    settings.TENANT_APPS = [*settings.TENANT_APPS, "tenants"]
    with pytest.raises(SystemCheckError) as raised:
        call_command("check")
    assert "miniplex.E003" in str(raised.value) and "miniplex.E004" in str(raised.value)
