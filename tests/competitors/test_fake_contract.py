"""The fake Unipile's answers for the competitor watch, checked against the vendored OpenAPI file.

The adapter's requests are checked by tests/outreach/test_unipile.py; here the fake's bodies must be
what the contract says Unipile answers, so the adapter is tested against the real shape.
"""

import datetime as dt
from pathlib import Path

import jsonschema_rs
import pytest
import requests
import yaml
from django.conf import settings

from tests.fakes.unipile_server import FakeUnipile, search_person

CONTRACT = Path(settings.BASE_DIR) / "vendor" / "unipile-openapi-v1.yaml"
AT = dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def contract() -> dict:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with CONTRACT.open() as file:
        return yaml.load(file, Loader=loader)  # noqa: S506 (a safe loader, C or Python)


def _answer_schema(contract: dict, template: str) -> dict:
    return contract["paths"][template]["get"]["responses"]["200"]["content"]["application/json"]["schema"]


def _get(fake: FakeUnipile, path: str, **params) -> dict:
    response = requests.get(fake.dsn + path, params=params, headers={"X-API-KEY": fake.api_key}, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def fake():
    with FakeUnipile() as fake:
        fake.add_account("acc-1")
        yield fake


def test_the_fake_s_user_posts_are_what_the_contract_says(contract, fake):
    fake.add_competitor_post("10351", text="We launch Close.", at=AT, is_company=True, reactions=3)
    fake.add_competitor_post("ACoDana", text="Three lessons.", at=AT)

    company = _get(fake, "/api/v1/users/10351/posts", account_id="acc-1", is_company="true")
    person = _get(fake, "/api/v1/users/ACoDana/posts", account_id="acc-1")

    validator = jsonschema_rs.validator_for(_answer_schema(contract, "/api/v1/users/{identifier}/posts"))
    for body in (company, person):
        errors = [error.message for error in validator.iter_errors(body)]
        assert not errors, errors
    assert company["items"][0]["text"] == "We launch Close."


def test_the_fake_s_reactions_are_what_the_contract_says(contract, fake):
    post = fake.add_competitor_post("10351", text="We launch Close.", at=AT, is_company=True, reactions=2)
    fake.add_competitor_reaction(post, 1)
    fake.add_competitor_reaction(post, 2, value="PRAISE")

    body = _get(fake, f"/api/v1/posts/{post['social_id']}/reactions", account_id="acc-1")

    validator = jsonschema_rs.validator_for(_answer_schema(contract, "/api/v1/posts/{post_id}/reactions"))
    errors = [error.message for error in validator.iter_errors(body)]
    assert not errors, errors
    assert [item["author"]["id"] for item in body["items"]] == [search_person(1)["id"], search_person(2)["id"]]


def test_a_wrong_shape_would_be_caught(contract, fake):
    """The check can fail: a post without its required counters is refused."""
    post = fake.add_competitor_post("10351", text="We launch Close.", at=AT, is_company=True)
    body = _get(fake, "/api/v1/users/10351/posts", account_id="acc-1", is_company="true")
    del body["items"][0]["reaction_counter"]
    validator = jsonschema_rs.validator_for(_answer_schema(contract, "/api/v1/users/{identifier}/posts"))
    assert not validator.is_valid(body)
    assert post["id"]


def test_the_feeds_of_a_company_and_a_member_are_apart(fake):
    fake.add_competitor_post("10351", text="We launch Close.", at=AT, is_company=True)
    response = requests.get(
        f"{fake.dsn}/api/v1/users/10351/posts",
        params={"account_id": "acc-1"},
        headers={"X-API-KEY": fake.api_key},
        timeout=5,
    )
    assert response.status_code == 422 and response.json()["type"] == "errors/invalid_recipient"
