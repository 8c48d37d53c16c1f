"""An empty install: no demo data, a way in for the first admin, and a checklist that ticks itself."""

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from campaigns.models import Campaign
from leads.models import Lead
from outreach.models import SendingAccount
from salesdept.checklist import model_configured
from salesdept.management.commands.run_embedded import sign_in_lines
from salesdept.roles import REP
from tests.conftest import login
from tests.factories import CampaignFactory, SendingAccountFactory, UserFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_model(settings):
    settings.OPENAI_API_KEY = ""
    settings.LLM_BASE_URL = ""
    return settings


def ticked(page: str) -> list[str]:
    """The titles of the items marked done, in order."""
    return re.findall(r"<span class=\"status status-done\">Done</span> ([^<]+)</h2>", page)


def test_it_seeds_nothing_with_seed_demo_false(settings, capsys):
    settings.SEED_DEMO = False
    call_command("seed_demo")

    assert "no demo data" in capsys.readouterr().out
    assert not get_user_model().objects.exists()
    assert not Campaign.objects.exists() and not SendingAccount.objects.exists() and not Lead.objects.exists()


def test_it_tells_how_to_create_the_first_admin_when_nobody_can_sign_in():
    lines = sign_in_lines()
    assert "No one can sign in yet" in lines[0]
    assert lines[1].endswith("manage.py createsuperuser")


def test_the_first_admin_from_createsuperuser_signs_in_and_lands_on_the_checklist(client, monkeypatch, no_model):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "first-admin-pass-2026")
    call_command("createsuperuser", interactive=False, username="ada", email="ada@team.example", stdout=io.StringIO())
    assert sign_in_lines() == ["Sign in with your admin account."]

    response = client.post("/accounts/login/", {"login": "ada@team.example", "password": "first-admin-pass-2026"})

    assert response.status_code == 302
    assert client.get("/").url == "/start/"
    page = client.get("/start/").text
    assert ticked(page) == []
    for link in ("/admin/auth/user/add/", "/me/", "/settings/", "/campaigns/new/"):
        assert f'href="{link}"' in page


def test_it_ticks_each_item_as_it_is_done_and_then_opens_on_the_dashboard(client, carol, no_model):
    login(client, carol)
    assert ticked(client.get("/start/").text) == []

    alice = UserFactory(username="alice@team.example", role=REP)
    assert ticked(client.get("/start/").text) == ["Invite the team"]

    SendingAccountFactory(owner=alice)
    assert ticked(client.get("/start/").text) == ["Invite the team", "Connect accounts"]

    no_model.LLM_BASE_URL = "http://127.0.0.1:11434/v1/"
    assert ticked(client.get("/start/").text) == ["Invite the team", "Connect accounts", "Set the model"]
    assert client.get("/").url == "/start/"  # one item is still open

    CampaignFactory(owner=carol)
    page = client.get("/start/").text
    assert len(ticked(page)) == 4 and "All set" in page
    assert client.get("/").url == "/dashboard/"


def test_a_person_without_a_role_does_not_count_as_the_team(client, carol, no_model):
    UserFactory(username="newcomer@team.example")  # added in the admin, no group yet
    assert "Invite the team" not in ticked(login(client, carol).get("/start/").text)


def test_it_reads_the_model_from_a_key_or_a_base_url(no_model):
    assert not model_configured()
    no_model.OPENAI_API_KEY = "sk-test"
    assert model_configured()
    no_model.OPENAI_API_KEY, no_model.LLM_BASE_URL = "", "http://127.0.0.1:8080/v1/"
    assert model_configured()


def test_it_is_the_admins_alone(client, alice, bob, no_model):
    assert login(client, bob).get("/start/").status_code == 403
    assert client.get("/").url == "/dashboard/"  # a manager still opens on the dashboard
    assert login(client, alice).get("/start/").status_code == 403


def test_it_reads_seed_demo_from_the_environment():
    """make exports a command-line variable to its recipes: the settings read SEED_DEMO from the environment."""
    env = {**os.environ, "SEED_DEMO": "false"}
    code = "from django.conf import settings; print(settings.SEED_DEMO)"
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.stdout.splitlines()[-1] == "False", done.stderr
