"""A body larger than its URL allows is refused from its Content-Length, before anything reads it."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from leads.models import ImportJob
from tests.conftest import login

pytestmark = pytest.mark.django_db
GIGABYTE = 1024**3


class UnreadableBody:
    """A wsgi.input that fails the test when anything reads it: a refused body must not be spooled."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


def _post_claiming(client, path: str, length: int):
    return client.generic(
        "POST",
        path,
        content_type="multipart/form-data; boundary=x",
        **{"wsgi.input": UnreadableBody(), "CONTENT_LENGTH": str(length)},
    )


def test_it_refuses_a_gigabyte_import_without_reading_it(client, alice):
    login(client, alice)

    response = _post_claiming(client, "/leads/import/", GIGABYTE)

    assert response.status_code == 413
    assert "larger than 50 MB: split it into smaller files" in response.content.decode()


@pytest.mark.parametrize(
    "path", ["/accounts/login/", "/leads/import/", "/webhooks/unipile/", "/approvals/bulk-approve/"]
)
def test_it_refuses_an_anonymous_body_over_two_and_a_half_megabytes_unread(client, path):
    """The CSRF check parses every POST: an anonymous visitor once spooled 512 MB through it."""
    response = _post_claiming(client, path, 3 * 1024 * 1024)

    assert response.status_code == 413


def test_it_refuses_a_signed_in_body_over_the_limit_elsewhere(client, alice):
    login(client, alice)

    assert _post_claiming(client, "/approvals/bulk-approve/", 3 * 1024 * 1024).status_code == 413


def test_it_answers_400_to_a_content_length_that_is_no_number(client):
    response = client.generic("POST", "/accounts/login/", CONTENT_LENGTH="lots")

    assert response.status_code == 400


def test_it_still_takes_an_upload_of_several_megabytes_from_a_signed_in_rep(client, alice, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    login(client, alice)
    rows = b"".join(b"Jane%d,Doe,Acme\r\n" % n for n in range(250_000))  # about 4 MB
    data = b"First Name,Last Name,Company\r\n" + rows

    response = client.post(
        "/leads/import/", {"file": SimpleUploadedFile("people.csv", data, content_type="text/csv"), "campaign": ""}
    )

    assert response.status_code == 302
    assert ImportJob.objects.get().data == data
