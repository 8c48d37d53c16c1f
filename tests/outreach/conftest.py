from collections.abc import Iterator

import pytest

from tests.fakes.unipile_server import FakeUnipile


@pytest.fixture
def fake_unipile(settings) -> Iterator[FakeUnipile]:
    """A fake Unipile on 127.0.0.1 with UNIPILE_DSN and UNIPILE_API_KEY pointing at it."""
    with FakeUnipile() as fake:
        settings.UNIPILE_DSN = fake.dsn
        settings.UNIPILE_API_KEY = fake.api_key
        settings.UNIPILE_TIMEOUT_SECONDS = 2.0
        yield fake
