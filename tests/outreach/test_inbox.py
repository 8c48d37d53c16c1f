"""The inbox: replies to a rep's leads, read by the model, with the answer waiting for approval."""

import datetime as dt

import pytest
from django.utils import timezone

from outreach.models import InboundMessage, OutreachMessage
from tests.conftest import login
from tests.factories import LeadFactory, MessageFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
Status = OutreachMessage.Status


def make_reply(lead, account, text: str = "Sounds good, happy to chat.", minutes_ago: int = 0, **fields):
    step = lead.messages.count() + 1
    message = MessageFactory(lead=lead, account=account, step=step, status=Status.SENT, sent_at=timezone.now())
    return InboundMessage.objects.create(
        lead=lead,
        account=account,
        in_reply_to=message,
        provider_id=f"in-{InboundMessage.objects.count()}-{lead.pk}",
        text=text,
        received_at=timezone.now() - dt.timedelta(minutes=minutes_ago),
        **fields,
    )


def analysed(**fields) -> dict:
    return {
        "intent": "interested",
        "sentiment": "positive",
        "confidence": 0.87,
        "analysis": {
            "key_facts": ["Free on Tuesday"],
            "referral_name": "",
            "suggested_reply": "Hi Lena, Tuesday works.",
            "generated_by": "gpt-4o-mini",
        },
        **fields,
    }


@pytest.fixture
def lena(campaign, alice):
    return LeadFactory(campaign=campaign, owner=alice, first_name="Lena", last_name="Park")


@pytest.fixture
def omar(campaign, dan):
    return LeadFactory(campaign=campaign, owner=dan, first_name="Omar", last_name="Haddad")


@pytest.fixture
def lenas_reply(lena, alice_account):
    return make_reply(lena, alice_account, "Lena here: sounds good, happy to chat.", **analysed())


@pytest.fixture
def omars_reply(omar, dan_account):
    return make_reply(omar, dan_account, "Omar here: not now, try in March.", minutes_ago=5, intent="not_now")


def test_it_shows_a_rep_the_replies_of_their_own_leads(client, alice, lenas_reply, omars_reply):
    response = login(client, alice).get("/inbox/")
    assert response.status_code == 200
    assert "Lena here: sounds good" in response.text
    assert f'href="/leads/{lenas_reply.lead_id}/"' in response.text
    assert lenas_reply.lead.company.name in response.text
    assert "Omar here" not in response.text
    assert 'aria-current="page">Inbox</a>' in response.text


def test_it_ignores_a_rep_filter_from_a_rep(client, alice, dan, lenas_reply, omars_reply):
    response = login(client, alice).get("/inbox/", {"rep": dan.pk})
    assert "Omar here" not in response.text
    assert "Lena here" in response.text


def test_it_shows_a_manager_every_reply_newest_first(client, bob, lenas_reply, omars_reply):
    response = login(client, bob).get("/inbox/")
    assert response.text.index("Lena here") < response.text.index("Omar here")
    assert list(response.context["page"]) == [lenas_reply, omars_reply]


def test_a_manager_filters_by_rep(client, bob, dan, lenas_reply, omars_reply):
    response = login(client, bob).get("/inbox/", {"rep": dan.pk})
    assert list(response.context["page"]) == [omars_reply]
    assert "Lena here" not in response.text


def test_it_filters_by_intent(client, bob, lenas_reply, omars_reply):
    response = login(client, bob).get("/inbox/", {"intent": "not_now"})
    assert list(response.context["page"]) == [omars_reply]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"intent": "bogus"}, "bogus is not an intent; showing every intent."),
        ({"rep": "999999"}, "That is not a rep you can filter by; showing every rep."),
        ({"rep": "abc"}, "That is not a rep you can filter by; showing every rep."),
        ({"page": "abc"}, ""),
    ],
)
def test_a_bad_filter_is_ignored_and_explained(client, bob, lenas_reply, omars_reply, params, message):
    response = login(client, bob).get("/inbox/", params)
    assert response.status_code == 200
    assert list(response.context["page"]) == [lenas_reply, omars_reply]
    assert message in response.text


def test_a_good_filter_still_applies_beside_a_bad_one(client, bob, lenas_reply, omars_reply):
    response = login(client, bob).get("/inbox/", {"intent": "not_now", "rep": "abc"})
    assert list(response.context["page"]) == [omars_reply]


def test_it_shows_the_analysis(client, alice, lenas_reply):
    text = login(client, alice).get("/inbox/").text
    assert "Interested" in text
    assert "Positive" in text
    assert "87%" in text
    assert "Free on Tuesday" in text
    assert "(read by gpt-4o-mini)" in text


def test_it_labels_a_template_analysis_and_a_missing_one(client, alice, lena, alice_account):
    make_reply(lena, alice_account, "Thanks", intent="unclear", analysis={"generated_by": "template"})
    make_reply(lena, alice_account, "Just arrived", minutes_ago=1)
    text = login(client, alice).get("/inbox/").text
    assert "(offline template)" in text
    assert "Not analysed yet." in text


def test_it_shows_the_snooze_date_and_referral(client, alice, lena, alice_account):
    make_reply(
        lena,
        alice_account,
        "Try Dana in March",
        intent="referral",
        snooze_until=dt.date(2031, 3, 1),
        analysis={"referral_name": "Dana Whitfield", "generated_by": "template"},
    )
    text = login(client, alice).get("/inbox/").text
    assert "01 Mar 2031" in text
    assert "Dana Whitfield" in text


def test_it_shows_the_message_replied_to(client, alice, lenas_reply):
    lenas_reply.in_reply_to.body = "Hi Lena, would you speak at the Summit?"
    lenas_reply.in_reply_to.save(update_fields=["body"])
    text = login(client, alice).get("/inbox/").text
    assert "In answer to step 1" in text
    assert "Hi Lena, would you speak at the Summit?" in text


@pytest.mark.parametrize(
    ("status", "label"),
    [
        (Status.PENDING_APPROVAL, "waiting for approval"),
        (Status.APPROVED, "approved"),
        (Status.SENT, "sent"),
        (Status.REJECTED, "rejected"),
    ],
)
def test_it_links_the_suggested_answer_with_its_status(client, alice, lenas_reply, status, label):
    answer = MessageFactory(
        lead=lenas_reply.lead, step=1, kind="message", reply_to=lenas_reply, status=status, body="Hi Lena, Tuesday."
    )
    text = login(client, alice).get("/inbox/").text
    assert f'<a href="/approvals/{answer.pk}/">Suggested answer</a>' in text
    assert f'<span class="status status-{status}">{label}</span>' in text


def test_there_is_no_answer_link_without_an_answer(client, alice, lenas_reply):
    assert "Suggested answer" not in login(client, alice).get("/inbox/").text


def test_htmx_gets_the_list_alone(client, alice, lenas_reply):
    response = login(client, alice).get("/inbox/", {"intent": "interested"}, **HTMX)
    assert 'id="inbox-list"' in response.text
    assert "<html" not in response.text
    assert "Lena here" in response.text


def test_it_pages_by_fifty(client, alice, lena, alice_account):
    for minute in range(51):
        make_reply(lena, alice_account, f"Reply number {minute}.", minutes_ago=minute)
    first = login(client, alice).get("/inbox/", {"intent": ""})
    assert len(first.context["page"]) == 50
    assert "Reply number 50." not in first.text
    assert 'href="?intent=&amp;page=2"' in first.text  # the filters travel with the page
    second = client.get("/inbox/", {"page": 2})
    assert [r.text for r in second.context["page"]] == ["Reply number 50."]


def test_the_empty_inbox_says_so(client, alice):
    assert "No replies yet" in login(client, alice).get("/inbox/").text


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get("/inbox/")
    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=/inbox/"


def test_users_without_a_role_get_403(client, mallory):
    assert login(client, mallory).get("/inbox/").status_code == 403


def test_it_only_answers_get(client, alice):
    assert login(client, alice).post("/inbox/").status_code == 405


def test_reply_text_is_escaped(client, alice, lena, alice_account):
    make_reply(lena, alice_account, "<script>alert(1)</script>", **analysed())
    text = login(client, alice).get("/inbox/").text
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_query_count_does_not_grow_with_replies(
    client, bob, campaign, alice, alice_account, django_assert_max_num_queries
):
    def add(count: int) -> None:
        for _ in range(count):
            lead = LeadFactory(campaign=campaign, owner=alice)
            inbound = make_reply(lead, alice_account, **analysed())
            MessageFactory(lead=lead, step=1, kind="message", reply_to=inbound)

    login(client, bob)
    add(3)
    with django_assert_max_num_queries(12) as three:
        client.get("/inbox/")
    add(27)
    with django_assert_max_num_queries(len(three)) as thirty:
        response = client.get("/inbox/")
    assert len(response.context["page"]) == 30
    assert response.text.count("Suggested answer") == 30
    assert len(thirty) == len(three)
