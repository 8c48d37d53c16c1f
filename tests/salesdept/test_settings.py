import os
import subprocess
import sys

import pytest
from django.core.management import call_command

from salesdept.settings import database_from_url

BASE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _start(env: dict) -> subprocess.CompletedProcess:
    clean = {
        key: value for key, value in os.environ.items() if key not in ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "DEBUG")
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE,
        env={**clean, "VAR_DIR": "var/test", "ENV_FILE": "no-such-file", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_stops_production_start_up_without_a_secret_key():
    result = _start({"DEBUG": "false", "FIELD_ENCRYPTION_KEYS": "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg="})
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_it_stops_production_start_up_without_an_encryption_key():
    result = _start({"DEBUG": "false", "SECRET_KEY": "x" * 50})
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS must be set when DEBUG is off" in result.stderr


def test_it_starts_in_production_with_both():
    result = _start(
        {
            "DEBUG": "false",
            "SECRET_KEY": "x" * 50,
            "FIELD_ENCRYPTION_KEYS": "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg=",
        }
    )
    assert result.returncode == 0, result.stderr


def test_it_rejects_a_malformed_boolean():
    result = _start({"DEBUG": "maybe"})
    assert result.returncode != 0
    assert "DEBUG must be true or false, not 'maybe'" in result.stderr


def test_it_reads_postgres_urls():
    db = database_from_url("postgres://sales:p%40ss@db.internal:6543/salesdept?sslmode=require")
    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["NAME"], db["USER"], db["PASSWORD"], db["HOST"], db["PORT"]) == (
        "salesdept",
        "sales",
        "p@ss",
        "db.internal",
        "6543",
    )
    assert db["OPTIONS"] == {"sslmode": "require", "server_side_binding": True, "prepare_threshold": 5}


def test_prepared_statements_can_be_turned_off_for_a_pooler_that_cannot_keep_them(monkeypatch):
    monkeypatch.setenv("DB_PREPARED_STATEMENTS", "false")
    assert database_from_url("postgres://sales@db.internal/salesdept")["OPTIONS"] == {}


@pytest.mark.postgres
def test_the_database_uses_prepared_statements(db):
    from django.db import connection

    with connection.cursor() as cursor:
        for _ in range(6):  # psycopg prepares a statement on its 5th run
            cursor.execute("SELECT %s::int + 1", [41])
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["SELECT $1::int + 1"])
        assert cursor.fetchone()[0] == 1


def test_it_rejects_an_unknown_database_scheme():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="must start with postgres:// or sqlite:///"):
        database_from_url("mysql://root@localhost/x")


@pytest.mark.django_db
def test_the_project_checks_clean_and_has_every_migration():
    call_command("check", fail_level="WARNING")
    call_command("makemigrations", check=True, dry_run=True)
