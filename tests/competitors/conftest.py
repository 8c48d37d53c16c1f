from collections.abc import Iterator

import pytest

from outreach.models import SendingAccount
from tests.factories import SendingAccountFactory
from tests.fakes.unipile_server import FakeUnipile

ACCOUNT_ID = "acc-reader"


@pytest.fixture
def fake_unipile(settings) -> Iterator[FakeUnipile]:
    """A fake Unipile on 127.0.0.1 with UNIPILE_DSN and UNIPILE_API_KEY pointing at it."""
    with FakeUnipile() as fake:
        settings.UNIPILE_DSN = fake.dsn
        settings.UNIPILE_API_KEY = fake.api_key
        settings.UNIPILE_TIMEOUT_SECONDS = 2.0
        fake.add_account(ACCOUNT_ID)
        yield fake


@pytest.fixture
def reader_account(alice, fake_unipile) -> SendingAccount:
    """Alice's LinkedIn account, through which competitors are read."""
    return SendingAccountFactory(
        owner=alice, name="Alice LinkedIn", channel=SendingAccount.Channel.UNIPILE, provider_account_id=ACCOUNT_ID
    )
