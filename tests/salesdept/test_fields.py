import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.db import connection

from outreach.models import SendingAccount
from salesdept import fields
from tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_keys():
    fields._fernet.cache_clear()
    yield
    fields._fernet.cache_clear()


def _raw(account) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM outreach_sendingaccount WHERE id = %s", [account.pk])
        return cursor.fetchone()[0]


def test_it_stores_credentials_encrypted(alice):
    account = SendingAccountFactory(owner=alice, credentials="unipile-token-123")
    assert "unipile-token-123" not in _raw(account)
    assert SendingAccount.objects.get(pk=account.pk).credentials == "unipile-token-123"


def test_it_reads_old_rows_after_key_rotation(alice, settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    account = SendingAccountFactory(owner=alice, credentials="secret")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]
    fields._fernet.cache_clear()
    account = SendingAccount.objects.get(pk=account.pk)
    assert account.credentials == "secret"
    account.save()  # re-encrypted with the new key
    settings.FIELD_ENCRYPTION_KEYS = settings.FIELD_ENCRYPTION_KEYS[:1]
    fields._fernet.cache_clear()
    assert SendingAccount.objects.get(pk=account.pk).credentials == "secret"


def test_it_fails_loudly_with_the_wrong_key(alice, settings):
    account = SendingAccountFactory(owner=alice, credentials="secret")
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    fields._fernet.cache_clear()
    with pytest.raises(ImproperlyConfigured, match="check FIELD_ENCRYPTION_KEYS"):
        SendingAccount.objects.get(pk=account.pk)


def test_admin_never_shows_the_secret(client, carol, alice):
    account = SendingAccountFactory(owner=alice, credentials="very-secret-token")
    client.force_login(carol)
    response = client.get(f"/admin/outreach/sendingaccount/{account.pk}/change/")
    assert response.status_code == 200
    assert "very-secret-token" not in response.text


def test_admin_keeps_the_secret_when_the_field_is_left_blank(client, carol, alice):
    from django.forms.models import model_to_dict

    from outreach.admin import SendingAccountForm

    account = SendingAccountFactory(owner=alice, credentials="keep-me")
    data = {k: v for k, v in model_to_dict(account).items() if v is not None}
    data.update(credentials="", working_days="[0, 1, 2, 3, 4]")
    form = SendingAccountForm(data=data, instance=account)
    assert form.is_valid(), form.errors
    form.save()
    assert SendingAccount.objects.get(pk=account.pk).credentials == "keep-me"
