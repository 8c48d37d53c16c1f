"""The notifications page, its navigation badge, and the banner of an account that cannot send."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from outreach.models import SendingAccount
from salesdept.models import Notification
from tests.conftest import login
from tests.factories import SendingAccountFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def note(user, text: str = "Something needs you", url: str = "", read: bool = False) -> Notification:
    return Notification.objects.create(user=user, text=text, url=url, read_at=timezone.now() if read else None)


def unread(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


# The page -----------------------------------------------------------------------------------------


def test_it_lists_only_my_notifications_newest_first(client, alice, dan):
    note(alice, "Older one for Alice", read=True)
    note(alice, "Newer one for Alice")
    note(dan, "Dan's own business")
    response = login(client, alice).get("/notifications/")
    assert response.status_code == 200
    assert response.text.index("Newer one for Alice") < response.text.index("Older one for Alice")
    assert "Dan&#x27;s own business" not in response.text
    assert response.text.count("Unread</span>") == 1


def test_it_shows_the_unread_count_in_the_navigation(client, alice, dan):
    note(alice)
    note(alice)
    note(alice, read=True)
    note(dan)
    response = login(client, alice).get("/leads/")
    assert 'id="unread-count" class="badge" aria-label="2 unread">2</span>' in response.text


def test_it_hides_the_badge_when_all_is_read(client, alice):
    note(alice, read=True)
    response = login(client, alice).get("/leads/")
    assert '<span id="unread-count" hidden></span>' in response.text
    assert "Notifications" in response.text


def test_it_reads_the_navigation_numbers_in_one_query(client, alice, alice_account):
    for _ in range(5):
        note(alice)
    login(client, alice).get("/leads/")  # the session and roles are warm
    with CaptureQueriesContext(connection) as queries:
        client.get("/leads/")
    counted = [q["sql"] for q in queries if "salesdept_notification" in q["sql"]]
    assert len(counted) == 1
    assert "COUNT(" in counted[0].upper()
    assert "outreach_sendingaccount" in counted[0]  # the banner's "is any account stopped", same statement
    assert not [q for q in queries if q["sql"].startswith('SELECT "outreach_sendingaccount"')]  # no list to show


def test_it_marks_all_read(client, alice, dan):
    note(alice)
    note(alice)
    note(dan)
    response = login(client, alice).post("/notifications/")
    assert response.status_code == 302
    assert response.url == "/notifications/"
    assert unread(alice) == 0
    assert unread(dan) == 1
    assert "All notifications marked read." in client.get(response.url).text


def test_it_marks_all_read_for_htmx_with_the_badge_out_of_band(client, alice):
    note(alice, "Read me")
    response = login(client, alice).post("/notifications/", **HTMX)
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'id="notification-list"' in response.text
    assert '<span id="unread-count" hidden hx-swap-oob="true"></span>' in response.text
    assert unread(alice) == 0


def test_it_renders_the_list_alone_for_htmx(client, alice):
    note(alice, "Fragment")
    response = login(client, alice).get("/notifications/", **HTMX)
    assert "<html" not in response.text
    assert "Fragment" in response.text


def test_it_refuses_other_methods(client, alice):
    assert login(client, alice).put("/notifications/").status_code == 405
    assert client.get(f"/notifications/{note(alice).pk}/open/").status_code == 405


def test_it_pages_to_older_notifications(client, alice):
    first = note(alice, "The very first")
    for n in range(50):
        note(alice, f"Number {n}")
    response = login(client, alice).get("/notifications/")
    assert "The very first" not in response.text
    assert f'href="/notifications/?before={first.pk + 1}">Older</a>' in response.text
    older = client.get(f"/notifications/?before={first.pk + 1}")
    assert "The very first" in older.text
    assert "Older</a>" not in older.text


def test_it_opens_one_marks_it_read_and_follows_its_link(client, alice, pending):
    opened = note(alice, url=f"/approvals/{pending.pk}/")
    other = note(alice)
    response = login(client, alice).post(f"/notifications/{opened.pk}/open/")
    assert response.status_code == 302
    assert response.url == f"/approvals/{pending.pk}/"
    opened.refresh_from_db()
    other.refresh_from_db()
    assert opened.read_at is not None
    assert other.read_at is None


@pytest.mark.parametrize("url", ["https://evil.example/phish", "//evil.example/x", "/\\evil.example", "javascript:x"])
def test_it_never_follows_a_link_off_the_site(client, alice, url):
    opened = note(alice, url=url)
    response = login(client, alice).post(f"/notifications/{opened.pk}/open/")
    assert response.url == "/notifications/"
    opened.refresh_from_db()
    assert opened.read_at is not None


def test_it_does_not_open_someone_elses_notification(client, alice, dan):
    theirs = note(dan, url="/leads/")
    assert login(client, alice).post(f"/notifications/{theirs.pk}/open/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_it_sends_anonymous_visitors_to_the_login(client, alice):
    response = client.get("/notifications/")
    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=/notifications/"
    assert client.post(f"/notifications/{note(alice).pk}/open/").status_code == 302
    assert unread(alice) == 1


def test_a_user_without_a_role_still_reads_their_notifications(client, mallory):
    note(mallory, "Welcome")
    assert "Welcome" in login(client, mallory).get("/notifications/").text


# The account banner -------------------------------------------------------------------------------


@pytest.fixture
def alice_paused(alice_account) -> SendingAccount:
    alice_account.name = "Alice LinkedIn"
    alice_account.health = SendingAccount.Health.AUTH_ERROR
    alice_account.health_reason = "The session expired"
    alice_account.save(update_fields=["name", "health", "health_reason"])
    return alice_account


def test_it_shows_the_owner_a_banner_on_every_page(client, alice, alice_paused):
    login(client, alice)
    for url in ("/leads/", "/notifications/", "/inbox/"):
        text = client.get(url).text
        assert "Sending from <strong>Alice LinkedIn</strong> stopped: needs reconnecting — The session expired" in text
        assert "ask an admin to reconnect it" in text
        assert "/admin/outreach/sendingaccount/" not in text


def test_it_shows_no_banner_to_another_rep(client, dan, alice_paused):
    assert 'id="account-banner"' not in login(client, dan).get("/leads/").text


def test_it_shows_no_banner_when_the_account_sends(client, alice, alice_account):
    assert 'id="account-banner"' not in login(client, alice).get("/leads/").text


def test_it_lists_every_stopped_account_for_a_manager(client, bob, dan, alice_paused):
    SendingAccountFactory(owner=dan, name="Dan mailbox", health=SendingAccount.Health.PAUSED, health_reason="Bounces")
    text = login(client, bob).get("/dashboard/").text
    assert "Sending from <strong>Alice LinkedIn</strong> (Alice Rivera) stopped" in text
    assert "Sending from <strong>Dan mailbox</strong> (Dan) stopped: paused — Bounces" in text
    assert 'href="/inbox/checking/#stopped-accounts"' in text


def test_it_links_an_admin_to_the_account(client, carol, alice_paused):
    text = login(client, carol).get("/dashboard/").text
    assert f'href="/admin/outreach/sendingaccount/{alice_paused.pk}/change/">Reconnect it in the admin</a>' in text


def test_it_shows_no_banner_to_anonymous_visitors(client, alice_paused):
    assert 'id="account-banner"' not in client.get("/accounts/login/").text
