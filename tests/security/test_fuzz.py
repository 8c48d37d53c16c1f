"""Odd input to every URL of the permissions matrix, as the people who may use it: never a 500.

Each URL gets query strings (GET) or form bodies (POST) made of the project's own field names with
values Hypothesis draws: NUL and other controls, bytes that are not UTF-8, superscript and Arabic
digits, huge and negative numbers, dates out of range, very long text, plus anything else it tries. The examples are
derandomized (the same every run: CI stays reproducible) and the odd values found by a black-box
scan are always among them. A 500 is a failure whatever the URL; 4xx, 3xx and 200 are all fine here
(the permissions test says which one each role must get).
"""

import importlib

import pytest
from django import forms
from django.apps import apps
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import login
from tests.security import test_permissions as permissions
from tests.security.test_permissions import ROWS, USERS

pytestmark = pytest.mark.django_db
_world, world = permissions._world, permissions.world  # the permission test's objects, built once per module
ODD_VALUES = [
    "\x00",
    "a\x00b",
    "²",
    "١٢",
    "99999999999999999999999",
    "-1",
    "0",
    "1e308",
    "NaN",
    "0001-01-01",
    "9999-12-31",
    "x" * 5_000,
    "'; DROP TABLE leads_lead; --",
    "<script>alert(1)</script>",
    "{{ 7*7 }}",
    "../../etc/passwd",
    "1:2:3",
    "²:1",
]
QUERY_NAMES = [
    "q",
    "after",
    "before",
    "page",
    "sort",
    "status",
    "rep",
    "owner",
    "campaign",
    "label",
    "from",
    "to",
    "linkedin",
]


def _form_field_names() -> list[str]:
    """Every field name of the project's own forms (they are the names its views read)."""
    names: set[str] = set()
    for app in apps.get_app_configs():
        if not app.path.startswith(str(apps.get_app_config("salesdept").path.rsplit("/", 1)[0])):
            continue
        try:
            module = importlib.import_module(f"{app.name}.forms")
        except ModuleNotFoundError:
            continue
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, forms.BaseForm):
                names.update(value.base_fields)
    return sorted(names | {"revision", "items", "then", "confirm", "from", "to"})


FIELD_NAMES = _form_field_names()
values = st.one_of(
    st.sampled_from(ODD_VALUES),
    # Any character a form can carry (controls included); a lone surrogate cannot be sent in UTF-8 at all.
    st.text(st.characters(codec="utf-8"), max_size=40),
    st.integers().map(str),
)


def _params(names: list[str]):
    return st.dictionaries(st.sampled_from(names), values, min_size=1, max_size=6)


FUZZ = settings(
    max_examples=12,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
CASES = [
    pytest.param(row, role, id=f"{row.name}-{role}")
    for row in ROWS.values()
    for role in ("rep", "admin")
    if row.answers[role] not in ("403", "404", "login")  # refused before any input is read
]


@pytest.mark.parametrize(("row", "role"), CASES)
def test_it_never_answers_500_to_odd_input(client, request, world, row, role):
    login(client, request.getfixturevalue(USERS[role]))
    url = reverse(row.name, kwargs=world[row.obj])
    names = FIELD_NAMES if row.method == "POST" else QUERY_NAMES + FIELD_NAMES

    @FUZZ
    @given(params=_params(names))
    @example(params={name: "\x00" for name in names[:6]})
    @example(params={name: "²" for name in names[:6]})
    def check(params):
        response = client.post(url, params) if row.method == "POST" else client.get(url, params)
        assert response.status_code < 500, f"{row.method} {url} {params!r} as {role}: {response.status_code}"

    check()
    # Bytes that are not UTF-8 (a lone surrogate's encoding among them), which no form can draw.
    query = "&".join(f"{name}=%ED%A0%80%FF" for name in names[:6])
    response = client.generic(row.method, f"{url}?{query}")
    assert response.status_code < 500, f"{row.method} {url}?{query} as {role}: {response.status_code}"
