import pytest

from salesdept.apitokens import api_token_create


def bearer(user, *, read_only: bool = False) -> dict[str, str]:
    """Headers that carry a fresh personal token of `user`, made the way /me/ makes one."""
    _token, raw = api_token_create(user=user, name="script", read_only=read_only, expires_on=None)
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def as_alice(alice) -> dict[str, str]:
    return bearer(alice)


@pytest.fixture
def as_dan(dan) -> dict[str, str]:
    return bearer(dan)


@pytest.fixture
def as_bob(bob) -> dict[str, str]:
    return bearer(bob)
