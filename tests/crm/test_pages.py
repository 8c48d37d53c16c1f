"""The CRM pages under /settings/crm/: connect and test, the mapping, Sync now and the log."""

import pytest
from django.db import connection as db

from crm.models import CRMConnection, FieldMapping, SyncRun
from deals.models import DealStage
from salesdept import clock

pytestmark = pytest.mark.django_db
URL = "/settings/crm/hubspot/"


@pytest.fixture
def manager(client, bob):
    client.force_login(bob)
    return client


def stored_credentials() -> str:
    with db.cursor() as cursor:
        cursor.execute("SELECT credentials FROM crm_crmconnection")
        return cursor.fetchone()[0]


def test_it_is_linked_from_the_settings_page(manager):
    assert 'href="/settings/crm/"' in manager.get("/settings/").content.decode()
    page = manager.get("/settings/crm/").content.decode()
    assert 'href="/settings/crm/hubspot/"' in page and "Not connected" in page


def test_it_tests_a_token_without_storing_it(manager, hubspot):
    response = manager.post(f"{URL}connect/", {"credentials": hubspot.token, "action": "test"})
    page = response.content.decode()
    assert response.status_code == 200 and "Connected as portal 4242 (app.hubspot.com)." in page
    assert hubspot.token not in page
    assert not CRMConnection.objects.exists()


def test_it_saves_a_working_token_encrypted_with_the_default_mapping(manager, hubspot):
    response = manager.post(f"{URL}connect/", {"credentials": hubspot.token, "action": "save"})
    assert response.status_code == 302
    connection = CRMConnection.objects.get()
    assert (connection.credentials, connection.connected_as) == (hubspot.token, "portal 4242 (app.hubspot.com)")
    assert hubspot.token not in stored_credentials()  # encrypted at rest
    fields = dict(connection.mappings.filter(kind="contact").values_list("ours", "theirs"))
    assert fields["email"] == "email" and fields["position"] == "jobtitle"
    stages = dict(connection.mappings.filter(kind="stage").values_list("ours", "theirs"))
    assert stages[str(DealStage.objects.get(name="Won").pk)] == "closedwon"
    assert stages[str(DealStage.objects.get(name="Meeting").pk)] == "appointmentscheduled"
    page = manager.get(URL).content.decode()
    assert "set (never shown again)" in page and hubspot.token not in page


def test_a_refused_token_is_not_stored_nor_shown(manager, hubspot):
    response = manager.post(f"{URL}connect/", {"credentials": "pat-na1-wrong-one", "action": "save"})
    page = response.content.decode()
    assert response.status_code == 200 and "The credentials were refused" in page
    assert "pat-na1-wrong-one" not in page and not CRMConnection.objects.exists()


def test_an_empty_form_is_a_400_with_the_reason(manager, hubspot):
    response = manager.post(f"{URL}connect/", {"action": "save"})
    assert response.status_code == 400 and "Paste the token" in response.content.decode()
    assert manager.get("/settings/crm/pipedrive/").status_code == 404


def test_sync_now_runs_and_the_log_shows_it(manager, connection, hubspot, eager, django_capture_on_commit_callbacks):
    from tests.crm.conftest import conversation

    conversation(connection.created_by, email="ines@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        response = manager.post(f"{URL}sync/")
    assert response.status_code == 302 and response["Location"] == f"{URL}#crm-log"
    run = SyncRun.objects.get()
    assert (run.status, run.trigger, run.created) == ("done", "manual", 3)  # company, contact, note
    page = manager.get(URL).content.decode()
    assert f'id="run-{run.pk}"' in page and "by hand" in page


def test_the_mapping_page_edits_fields_and_stages(manager, connection):
    won = DealStage.objects.get(name="Won")
    page = manager.get(f"{URL}mapping/").content.decode()
    assert 'value="jobtitle"' in page and 'value="closedwon"' in page
    response = manager.post(f"{URL}mapping/save/", {"field_position": "job title!", f"stage_{won.pk}": "closedwon"})
    assert response.status_code == 400 and "internal name" in response.content.decode()
    data = {"field_email": "email", "field_position": "hs_job_title", f"stage_{won.pk}": "1234567"}
    assert manager.post(f"{URL}mapping/save/", data).status_code == 302
    assert FieldMapping.objects.get(connection=connection, ours="position").theirs == "hs_job_title"
    assert FieldMapping.objects.get(connection=connection, kind="stage", ours=str(won.pk)).theirs == "1234567"
    assert FieldMapping.objects.get(connection=connection, ours="first_name").theirs == ""  # left blank: not sent


@pytest.mark.parametrize("runs", [3, 30])
def test_the_log_page_reads_a_fixed_number_of_queries(manager, connection, runs, django_assert_max_num_queries):
    SyncRun.objects.bulk_create(
        SyncRun(connection=connection, started_at=clock.now(), status="done", notes=["a note"]) for _ in range(runs)
    )
    with django_assert_max_num_queries(12):
        assert manager.get(URL).status_code == 200
