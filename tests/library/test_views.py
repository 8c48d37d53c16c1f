"""The content library's pages: managers add, edit and deactivate items; reps cannot."""

import pytest
from django.urls import reverse

from library.models import ContentItem
from tests.conftest import login
from tests.presence.conftest import ContentItemFactory

pytestmark = pytest.mark.django_db

GOOD = {
    "kind": "case_study",
    "title": "How Ledgerly closes its books",
    "url": "https://example.com/ledgerly",
    "summary": "Month-end close on one platform.",
    "facts": "Month-end close went from 9 days to 4\n\nUsed by 40 banks\nUsed by 40 banks",
    "labels": "Speaker",
    "industries": "Fintech\nBanking",
}


def test_a_manager_adds_an_item_with_facts_one_per_line(client, bob):
    response = login(client, bob).post(reverse("library:add"), GOOD)

    assert response.status_code == 302
    item = ContentItem.objects.get()
    assert item.facts == ["Month-end close went from 9 days to 4", "Used by 40 banks"]  # blank and repeated lines go
    assert item.industries == ["Fintech", "Banking"]
    assert item.created_by == bob and item.is_active
    assert "How Ledgerly closes its books" in client.get(reverse("library:list")).content.decode()


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://example.com/file", "example.com/no-scheme-given x"])
def test_only_web_addresses_are_taken(client, bob, url):
    response = login(client, bob).post(reverse("library:add"), {**GOOD, "url": url})

    assert response.status_code == 200
    assert "Nothing was saved" in response.content.decode()
    assert not ContentItem.objects.exists()


def test_a_manager_edits_an_item(client, bob):
    item = ContentItemFactory()
    page = login(client, bob).get(reverse("library:edit", args=[item.pk])).content.decode()
    assert "Used by 40 banks" in page  # facts shown one per line

    client.post(reverse("library:edit", args=[item.pk]), {**GOOD, "title": "Renamed"})

    item.refresh_from_db()
    assert item.title == "Renamed"


def test_deactivating_keeps_the_item_but_takes_it_out_of_suggestions(client, bob):
    item = ContentItemFactory()

    login(client, bob).post(reverse("library:toggle", args=[item.pk]))
    item.refresh_from_db()
    assert not item.is_active
    assert "Reactivate" in client.get(reverse("library:list")).content.decode()

    client.post(reverse("library:toggle", args=[item.pk]))
    item.refresh_from_db()
    assert item.is_active


def test_reps_cannot_use_the_library_pages(client, alice):
    item = ContentItemFactory()
    login(client, alice)
    assert client.get(reverse("library:list")).status_code == 403
    assert client.post(reverse("library:add"), GOOD).status_code == 403
    assert client.post(reverse("library:toggle", args=[item.pk])).status_code == 403
    assert ContentItem.objects.count() == 1


def test_the_library_is_in_the_managers_navigation(client, bob, alice):
    assert reverse("library:list") in login(client, bob).get(reverse("profile")).content.decode()
    assert reverse("library:list") not in login(client, alice).get(reverse("profile")).content.decode()


def test_the_list_page_does_not_grow_its_queries_with_items(client, bob, django_assert_max_num_queries):
    ContentItemFactory.create_batch(30)
    login(client, bob)
    with django_assert_max_num_queries(12):
        client.get(reverse("library:list"))
