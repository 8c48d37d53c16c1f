"""/settings/: a manager sets the model server and Unipile, each checked by one real call before it is stored.

The servers are the local fakes over real HTTP. The environment (settings) starts with no model key and
no Unipile tenant, so whatever works afterwards works because of what the manager saved.
"""

import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
from django.db import connection
from django.test import RequestFactory
from django.urls import reverse
from django.views.debug import ExceptionReporter

from outreach.channels import unipile
from outreach.models import OutreachMessage
from outreach.services import messages_draft
from salesdept import teamconfig, views
from salesdept.forms import UnipileForm
from salesdept.llm import client as llm_client
from salesdept.llm.client import CHECK_PROMPT
from salesdept.llm.schemas import Classification
from salesdept.models import LLMCall, TeamConfig
from tests.conftest import login
from tests.factories import LeadFactory
from tests.fakes.openai_server import Error, FakeOpenAI, Reply
from tests.fakes.unipile_server import FakeUnipile
from tests.integration.conftest import database_url_for_worker
from tests.outreach.test_drafting import Model

pytestmark = pytest.mark.django_db

MODEL_KEY = "sk-team-8f3Kq2LmZx9Rv41T"
UNIPILE_KEY = "unipile-team-Qw7Zr2Lp0Xy5"
MODEL_URL = reverse("settings_model")
UNIPILE_URL = reverse("settings_unipile")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(autouse=True)
def _nothing_in_the_environment(settings):
    settings.OPENAI_API_KEY = settings.LLM_BASE_URL = ""
    settings.UNIPILE_DSN = settings.UNIPILE_API_KEY = ""
    settings.LLM_MAX_RETRIES = 0
    llm_client.reset()
    yield
    llm_client.reset()


def _answers_the_check_then_drafts(body: dict):
    if body["messages"][-1]["content"] == CHECK_PROMPT:
        return Reply("Hello, sales team!")
    return Model()(body)


@pytest.fixture
def model_server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(api_key=MODEL_KEY, default=_answers_the_check_then_drafts) as fake:
        yield fake


@pytest.fixture
def tenant() -> Iterator[FakeUnipile]:
    with FakeUnipile(api_key=UNIPILE_KEY) as fake:
        fake.add_account("acc-1")
        fake.add_account("acc-2")
        yield fake


def _model_form(server: FakeOpenAI, **fields) -> dict:
    return {"api_key": MODEL_KEY, "base_url": server.base_url, "model": "team-model", "action": "test", **fields}


def test_it_shows_both_sections_to_a_manager_with_where_each_key_comes_from(client, bob, settings):
    settings.UNIPILE_API_KEY = "from-the-environment"
    page = login(client, bob).get(reverse("team_settings")).content.decode()
    assert "Model server" in page and "Unipile (LinkedIn)" in page
    assert "none: the offline template writes every message" in page
    assert "from the server's environment" in page
    assert "from-the-environment" not in page


def test_it_tests_the_model_server_with_the_forms_values_and_stores_nothing(client, bob, model_server):
    response = login(client, bob).post(MODEL_URL, _model_form(model_server))
    assert response.status_code == 200
    assert f"team-model at {model_server.base_url} answered: “Hello, sales team!”" in response.content.decode()
    [request] = model_server.requests
    assert request["headers"]["authorization"] == f"Bearer {MODEL_KEY}"
    assert request["json"]["model"] == "team-model"
    assert not TeamConfig.objects.exists()
    assert teamconfig.llm_config().api_key == ""


def test_a_bad_key_shows_the_servers_401_and_stores_nothing(client, bob, model_server):
    form = _model_form(model_server, api_key="sk-wrong-key-0000", action="save")
    page = login(client, bob).post(MODEL_URL, form).content.decode()
    assert f"The server at {model_server.base_url} answered 401: Incorrect API key provided." in page
    assert "sk-wrong-key-0000" not in page
    assert not TeamConfig.objects.exists()


def test_an_unreachable_server_says_it_could_not_connect(client, bob):
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    page = login(client, bob).post(MODEL_URL, {"api_key": MODEL_KEY, "base_url": url, "action": "save"})
    assert f"Could not connect to {url}." in page.content.decode()
    assert not TeamConfig.objects.exists()


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1:70/", "http://user:pw@host/v1", "http://"])
def test_only_an_http_url_is_accepted_as_a_base_url(client, bob, model_server, url):
    response = login(client, bob).post(MODEL_URL, _model_form(model_server, base_url=url, action="save"))
    assert response.status_code == 200
    assert "Enter" in response.content.decode()
    assert model_server.requests == [] and not TeamConfig.objects.exists()


def test_a_saved_key_and_model_are_used_by_the_next_draft(
    client, bob, model_server, campaign, alice, django_capture_on_commit_callbacks
):
    form = _model_form(model_server, action="save", model_draft="draft-model", daily_budget_usd="3.50")
    with django_capture_on_commit_callbacks(execute=True):  # the commit tells every process (and thread)
        response = login(client, bob).post(MODEL_URL, form)
    assert response.status_code == 302
    lead = LeadFactory(campaign=campaign, owner=alice, first_name="Lena", position="CFO", status="qualified")

    [message] = messages_draft(lead_ids=[lead.pk])

    assert message.status == OutreachMessage.Status.PENDING_APPROVAL
    assert message.generated_by == "draft-model"
    drafting = model_server.requests[1:]  # after the save's own check
    assert [r["json"]["model"] for r in drafting] == ["draft-model", "team-model"]  # draft, then its fact check
    assert {r["headers"]["authorization"] for r in drafting} == {f"Bearer {MODEL_KEY}"}
    assert teamconfig.llm_config().daily_budget_usd == 3.5


def test_a_batch_of_drafts_reads_the_settings_once_and_the_next_batch_sees_a_new_save(
    bob, model_server, campaign, alice, monkeypatch, django_capture_on_commit_callbacks
):
    def save(**values):
        with django_capture_on_commit_callbacks(execute=True):
            teamconfig.team_config_save(actor=bob, llm_api_key=MODEL_KEY, llm_base_url=model_server.base_url, **values)
        teamconfig.forget()  # as another process holds them: its copy is checked against the shared version

    save(llm_model="team-model")
    looks = []
    shared_version = teamconfig.cache.get
    monkeypatch.setattr(
        teamconfig.cache, "get", lambda key, *a, **kw: looks.append(key) or shared_version(key, *a, **kw), raising=False
    )
    leads = [LeadFactory(campaign=campaign, owner=alice, status="qualified").pk for _ in range(6)]

    drafted = messages_draft(lead_ids=leads[:3])

    assert looks.count(teamconfig.VERSION_KEY) == 1  # 3 drafts, their checks in threads: one look (10 unpinned)
    assert {m.generated_by for m in drafted} == {"team-model"}
    save(llm_model="other-model")  # a manager's change between two batches
    looks.clear()

    drafted = messages_draft(lead_ids=leads[3:])

    assert looks.count(teamconfig.VERSION_KEY) == 1
    assert {m.generated_by for m in drafted} == {"other-model"}
    assert [r["json"]["model"] for r in model_server.requests[-6:]] == ["other-model"] * 6


def test_a_blank_key_keeps_the_saved_one_and_forgetting_it_falls_back_to_the_environment(
    client, bob, model_server, settings
):
    login(client, bob).post(MODEL_URL, _model_form(model_server, action="save"))
    client.post(MODEL_URL, _model_form(model_server, api_key="", model="other-model", action="save"))
    assert (teamconfig.llm_config().api_key, teamconfig.llm_config().model) == (MODEL_KEY, "other-model")

    settings.OPENAI_API_KEY = "environment-key"
    form = {"forget_api_key": "on", "base_url": model_server.base_url, "action": "save"}
    page = client.post(MODEL_URL, form).content.decode()  # the environment's key fails the check: nothing changes
    assert "answered 401" in page and teamconfig.llm_config().api_key == MODEL_KEY
    client.post(MODEL_URL, {"forget_api_key": "on", "base_url": model_server.base_url, "action": "test"})
    assert model_server.requests[-1]["headers"]["authorization"] == "Bearer environment-key"


def test_a_key_never_appears_in_a_page_a_log_line_an_error_report_or_the_database(
    client, bob, model_server, caplog, rf: RequestFactory
):
    caplog.set_level(logging.DEBUG)
    login(client, bob)
    client.post(MODEL_URL, _model_form(model_server))  # test
    client.post(MODEL_URL, _model_form(model_server, api_key=MODEL_KEY[::-1], action="save"))  # refused
    client.post(MODEL_URL, _model_form(model_server, action="save"))  # saved
    page = client.get(reverse("team_settings")).content.decode()
    assert "saved on this page" in page
    assert MODEL_KEY not in page and MODEL_KEY[-4:] not in page
    assert MODEL_KEY not in caplog.text and MODEL_KEY[::-1] not in caplog.text
    assert MODEL_KEY not in repr(teamconfig.llm_config()) and MODEL_KEY not in repr(teamconfig.saved())
    with connection.cursor() as cursor:
        cursor.execute("SELECT llm_api_key FROM salesdept_teamconfig")
        [(stored,)] = cursor.fetchall()
    assert stored and MODEL_KEY not in stored  # encrypted at rest

    request = rf.post(MODEL_URL, _model_form(model_server, base_url=f"http://127.0.0.1:{_closed_port()}/v1"))
    request.user, request.htmx = bob, None
    views.settings_model(request)
    try:
        raise RuntimeError("something broke after the form was read")
    except RuntimeError:
        report = ExceptionReporter(request, *sys.exc_info()).get_traceback_text()
    assert "api_key" in report and MODEL_KEY not in report


def test_it_tests_unipile_and_stores_nothing(client, bob, tenant):
    page = login(client, bob).post(UNIPILE_URL, {"dsn": tenant.dsn, "unipile_key": UNIPILE_KEY, "action": "test"})
    assert f"Unipile at {tenant.dsn} answered: 2 connected accounts." in page.content.decode()
    assert tenant.calls("GET", "/api/v1/accounts")[0]["headers"]["x-api-key"] == UNIPILE_KEY
    assert not TeamConfig.objects.exists()


def test_a_bad_unipile_key_shows_unipiles_error_and_stores_nothing(client, bob, tenant, caplog):
    caplog.set_level(logging.DEBUG)
    form = {"dsn": tenant.dsn, "unipile_key": "wrong-unipile-key", "action": "save"}
    page = login(client, bob).post(UNIPILE_URL, form).content.decode()
    assert f"Unipile at {tenant.dsn} answered 401: errors/missing_credentials: Missing credentials" in page
    assert "wrong-unipile-key" not in page and "wrong-unipile-key" not in caplog.text
    assert not TeamConfig.objects.exists()


def test_an_unreachable_dsn_says_it_could_not_connect(client, bob):
    dsn = f"http://127.0.0.1:{_closed_port()}"
    page = login(client, bob).post(UNIPILE_URL, {"dsn": dsn, "unipile_key": UNIPILE_KEY, "action": "save"})
    assert f"Could not connect to {dsn}." in page.content.decode()
    assert not TeamConfig.objects.exists()


def test_a_saved_unipile_tenant_is_what_the_app_calls_next(client, bob, tenant):
    response = login(client, bob).post(UNIPILE_URL, {"dsn": tenant.dsn, "unipile_key": UNIPILE_KEY, "action": "save"})
    assert response.status_code == 302

    unipile.webhooks_register(request_url="https://sales.example.com/webhooks/unipile/", secret="s")

    assert tenant.webhooks and {r["headers"]["x-api-key"] for r in tenant.calls("POST", "/api/v1/webhooks")} == {
        UNIPILE_KEY
    }
    page = client.get(reverse("team_settings")).content.decode()
    assert tenant.dsn in page and UNIPILE_KEY not in page


def test_a_dsn_without_a_scheme_is_read_as_https():
    form = UnipileForm({"dsn": "api8.unipile.com:13851", "action": "test"}, saved=teamconfig.saved())
    assert form.is_valid() and form.cleaned_data["dsn"] == "https://api8.unipile.com:13851"


OTHER_WORKER = """
import django, sys
django.setup()
from salesdept.teamconfig import llm_config, unipile_config
for _ in sys.stdin:  # one line in, what this process would use now out
    print(llm_config().model, unipile_config().dsn or "-", flush=True)
"""


@pytest.mark.postgres  # the other process opens the test database: an in-memory SQLite one is this process's alone
@pytest.mark.django_db(transaction=True)  # the other process reads only what is committed
def test_another_process_sees_a_save_without_a_restart(bob, settings):
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_worker(),
        "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
        "LLM_MODEL": "environment-model",
        "UNIPILE_DSN": "",
    }
    worker = subprocess.Popen(
        [sys.executable, "-c", OTHER_WORKER], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        worker.stdin.write("now\n")
        worker.stdin.flush()
        assert worker.stdout.readline().split() == ["environment-model", "-"]

        teamconfig.team_config_save(actor=bob, llm_model="team-model", unipile_dsn="https://api8.unipile.com:13851")
        worker.stdin.write("again\n")
        worker.stdin.flush()
        assert worker.stdout.readline().split() == ["team-model", "https://api8.unipile.com:13851"]
    finally:
        worker.stdin.close()
        worker.wait(timeout=30)


def test_an_empty_post_is_refused_with_a_form_error(client, bob):
    for url in (MODEL_URL, UNIPILE_URL):
        response = login(client, bob).post(url, {})
        assert response.status_code == 200 and "Choose Test or Save." in response.content.decode()
    assert not TeamConfig.objects.exists()


def test_htmx_gets_the_section_alone(client, bob, tenant):
    response = login(client, bob).post(
        UNIPILE_URL, {"dsn": tenant.dsn, "unipile_key": UNIPILE_KEY, "action": "test"}, HTTP_HX_REQUEST="true"
    )
    page = response.content.decode()
    assert page.lstrip().startswith('<section class="card" id="settings-unipile"')
    assert "2 connected accounts" in page


def test_a_server_quoting_the_key_in_its_error_has_it_taken_out(client, bob, model_server):
    model_server.queue(Error(401, f"Incorrect API key provided: {MODEL_KEY}.", code="invalid_api_key"))
    page = login(client, bob).post(MODEL_URL, _model_form(model_server, action="save")).content.decode()
    assert "answered 401: Incorrect API key provided: [the key]." in page
    assert MODEL_KEY not in page and not TeamConfig.objects.exists()


def test_a_saved_key_the_server_later_refuses_fails_closed_without_the_key_in_the_error(
    client, bob, model_server, campaign, alice, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        login(client, bob).post(MODEL_URL, _model_form(model_server, action="save"))
    model_server.api_key = "rotated-by-the-provider"
    lead = LeadFactory(campaign=campaign, owner=alice, first_name="Lena", position="CFO", status="qualified")

    [message] = messages_draft(lead_ids=[lead.pk])

    assert message.generated_by == "template"  # the model failed: the labelled template wrote it
    [failed] = LLMCall.objects.filter(purpose="draft", outcome=LLMCall.Outcome.ERROR)
    assert "refused the API key" in failed.error and MODEL_KEY not in failed.error
    with pytest.raises(llm_client.LLMFailure) as failure:
        llm_client.structured(model="team-model", messages=[{"role": "user", "content": "hi"}], schema=Classification)
    assert "refused the API key" in str(failure.value) and MODEL_KEY not in str(failure.value)


@pytest.mark.parametrize("odd", ["a\x00b", "x" * 5_000, "gpt 4o; rm -rf", "<script>", "١٢"])
def test_an_odd_model_name_for_a_purpose_is_a_form_error(client, bob, model_server, odd):
    response = login(client, bob).post(MODEL_URL, _model_form(model_server, model_draft=odd, action="save"))
    assert response.status_code == 200
    assert 'aria-invalid="true"' in response.content.decode()
    assert model_server.requests == [] and not TeamConfig.objects.exists()
