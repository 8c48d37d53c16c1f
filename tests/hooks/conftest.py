import pytest

from tests.conftest import login
from tests.fakes.webhook_receiver import WebhookReceiver


@pytest.fixture
def receiver():
    with WebhookReceiver() as fake:
        yield fake


@pytest.fixture
def private_allowed(settings):
    """The receiver listens on 127.0.0.1: an admin's setting lets deliveries reach it."""
    settings.WEBHOOKS_ALLOW_PRIVATE = True


def add_endpoint(client, manager, receiver: WebhookReceiver, events: list[str]) -> str:
    """Add the receiver as an endpoint through the page, as a manager does; the receiver learns the secret shown."""
    login(client, manager)
    response = client.post("/settings/webhooks/add/", {"url": receiver.url, "events": events})
    assert response.status_code == 200, response.text
    secret = response.context["secret"]
    receiver.secret = secret
    return secret
