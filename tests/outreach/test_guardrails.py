"""The guardrails on texts shaped like what real small models wrote (SmolLM2 behind llama.cpp, an adversarial fake)."""

import pytest

from outreach.guardrails import check_draft, sign_off
from salesdept.llm.prompts import PROMPTS

GOOD = (
    "Hi Lena,\n\nYour work as CFO at Finbank caught my eye. We are hosting the Fintech Summit in Berlin "
    "this spring and would love to have you there as a speaker.\n\nWould a short call next week work?\n\n"
    "Best,\nAlice Rivera"
)


def check(body: str, *, kind: str = "message", subject: str = "", for_model: bool = True, **kw) -> dict[str, dict]:
    """The findings by code, for a model draft from Alice Rivera to Lena Vogel of an English campaign."""
    arguments = {
        "first_name": "Lena",
        "lead_name": "Lena Vogel",
        "sender_name": "Alice Rivera",
        "sender_email": "alice@acme-events.com",
        "allowed_links": ["https://summit.example/register"],
        "language": "en",
        **kw,
    }
    found = check_draft(kind=kind, subject=subject, body=body, for_model=for_model, **arguments)
    return {finding["code"]: finding for finding in found}


def blocking(body: str, **kw) -> set[str]:
    return {code for code, finding in check(body, **kw).items() if finding["blocking"]}


def test_it_passes_a_good_draft():
    assert check(GOOD) == {}


@pytest.mark.parametrize(
    "placeholder",
    [
        "[Company Name]",
        "[Your Company]",
        "[Your Email Address]",
        "[Recipient's Name]",
        "[date]",
        "[sender_name]",
        "[Job Title]",
        "[Insert link]",
        "%FIRST_NAME%",
        "{first_name}",
        "{{company}}",
        "<COMPANY>",
    ],
)
def test_it_blocks_every_placeholder_a_model_left(placeholder):
    found = check(GOOD.replace("Finbank", placeholder))
    assert found["placeholder"]["blocking"]
    assert placeholder in found["placeholder"]["message"]


def test_it_blocks_an_unclosed_bracket():
    body = "[Greeting, Please Add a Custom Header…\n\nHi Lena,\n\nWould a short call work?\n\nBest,\nAlice Rivera"
    found = check(body)
    assert found["placeholder"]["blocking"] and "unclosed bracket" in found["placeholder"]["message"]


@pytest.mark.parametrize(
    "preamble", ["Here is a response to the request:", "Sure! Here's your message.", "Subject: The Fintech Summit"]
)
def test_it_blocks_a_preamble_before_the_greeting(preamble):
    assert blocking(f"{preamble}\n\n{GOOD}") & {"preamble", "subject_in_body"}


def test_it_finds_the_greeting_after_a_blank_line_but_blocks_a_model_draft_without_one():
    assert check(f"\n\n{GOOD}") == {}
    no_greeting = GOOD.replace("Hi Lena,\n\n", "")
    assert check(no_greeting)["no_greeting"]["blocking"]
    assert not check(no_greeting, for_model=False)["no_greeting"]["blocking"]  # a rep's own edit: a warning


def test_it_blocks_a_greeting_to_someone_else():
    assert "greeting_name" in blocking(GOOD.replace("Hi Lena", "Hi Tom"))


@pytest.mark.parametrize("signer", ["Lena Vogel", "Lena"])
def test_it_blocks_a_sign_off_with_the_prospects_own_name(signer):
    found = check(GOOD.replace("Alice Rivera", signer))
    assert found["sign_off"]["blocking"] and "prospect's own name" in found["sign_off"]["message"]


def test_it_blocks_a_model_signing_as_someone_else():
    found = check(GOOD.replace("Best,\nAlice Rivera", "Kind regards,\nJohn Smith"))
    assert found["sign_off"]["blocking"] and "the sender is Alice Rivera" in found["sign_off"]["message"]
    assert check(GOOD.replace("Alice Rivera", "Alice")) == {}  # her first name alone is her


@pytest.mark.parametrize("link", ["LIGHTCAST.COM", "acme.io", "www.fintech-summit.de", "dana@lightcast.com"])
def test_it_treats_bare_domains_and_addresses_as_links(link):
    found = check(GOOD.replace("Would a short call", f"See {link} first. Would a short call"))
    assert found["unknown_link"]["blocking"] and link in found["unknown_link"]["message"]


def test_it_allows_the_briefs_domain_and_the_senders_address():
    body = GOOD.replace("Would a short call", "Register at summit.example or write to alice@acme-events.com. Would")
    assert check(body) == {}


def test_it_blocks_french_for_an_english_campaign():
    body = (
        "Hi Lena,\n\nJe vous écris au sujet de notre conférence à Berlin au printemps prochain. Nous serions ravis "
        "de vous compter parmi nos intervenants.\n\nBest,\nAlice Rivera"
    )
    found = check(body)
    assert found["language"]["blocking"] and found["language"]["message"].startswith("Written in French")
    assert "language" not in check(body, language="fr")


def test_it_does_not_judge_the_language_of_a_short_note():
    assert "language" not in check("Hallo Lena, danke!\nAlice Rivera", kind="connection_note")


@pytest.mark.parametrize("debris", ["</p>", "<br>", "**Fintech Summit**", "# The Summit\n", "```"])
def test_it_blocks_html_and_markdown_debris(debris):
    assert "markup" in blocking(GOOD.replace("Your work", f"{debris} Your work"))


def test_it_blocks_an_api_key():
    assert "secret" in blocking(GOOD.replace("Best,", "sk-proj-abcdefghijklmnop1234\nBest,"))


def test_it_blocks_the_configured_key_whatever_its_shape(settings):
    settings.OPENAI_API_KEY = "local-llama-key-42"
    assert "secret" in blocking(GOOD.replace("Best,", "local-llama-key-42\nBest,"))


def test_it_blocks_the_system_prompt_echoed_back():
    echoed = PROMPTS["draft"].system.split(". ")[0]  # "You write short, personal B2B outreach for a sales rep..."
    found = check(GOOD.replace("We are hosting", f"{echoed}. We are hosting"))
    assert found["echo"]["blocking"]
    assert "echo" in blocking(GOOD.replace("Best,", "<data>{}</data>\nBest,"))


def test_it_blocks_a_subject_on_a_connection_note():
    note = "Hi Lena, I enjoyed your post on payments. Would be glad to connect.\nAlice Rivera"
    assert check(note, kind="connection_note") == {}
    assert "note_subject" in blocking(note, kind="connection_note", subject="Connecting")


@pytest.mark.parametrize(
    ("body", "block"),
    [
        ("Hi Lena,\n\nWould a short call work?\n\nBest,\nAlice Rivera", "Best,\nAlice Rivera"),
        ("Hi Lena,\n\nThanks for the note.\n\nKind regards, Alice\n\n", "Kind regards, Alice"),
        ("Hi Lena, happy to connect.\nAlice Rivera", "Alice Rivera"),
        ("Hi Lena, glad to connect about the Summit.", ""),
        ("Hi Lena,\n\nThanks for the intro to Omar.", ""),
    ],
)
def test_it_finds_the_sign_off_block_the_queue_puts_the_caret_before(body, block):
    assert sign_off(body) == block
