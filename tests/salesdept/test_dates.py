"""Return dates read as people write them, relative to when the reply was received and where."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from salesdept import dates

LONDON = ZoneInfo("Europe/London")
# Saturday 5 December 2026, mid-morning in London.
SATURDAY = dt.datetime(2026, 12, 5, 9, tzinfo=dt.UTC)
MONDAY = dt.date(2026, 12, 7)
FOURTEENTH = dt.date(2026, 12, 14)
NEW_YEAR_BACK = dt.date(2027, 1, 7)  # Thursday: offices are open again after Epiphany


def read(text: str, at: dt.datetime = SATURDAY, tz: dt.tzinfo = LONDON, order: str = "DMY") -> dt.date | None:
    reading = dates.read_return_date(text, received_at=at, tz=tz, order=order)
    return reading.date if reading else None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'm back on Monday.", MONDAY),
        ("Out until 14 December, no access to email.", FOURTEENTH),
        ("Let's talk next week.", MONDAY),  # next week starts on its Monday
        ("Try again after the holidays.", NEW_YEAR_BACK),
        ("Let's pick this up in the new year.", NEW_YEAR_BACK),
        ("Budget opens in Q2.", dt.date(2027, 4, 1)),
        ("Ping me in two weeks.", FOURTEENTH),
        ("Not now, try again in March.", dt.date(2027, 3, 1)),
        ("Maybe next quarter.", dt.date(2027, 1, 1)),
    ],
)
def test_it_reads_english_phrases(text, expected):
    assert read(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ich bin bis 14. Dezember nicht im Büro.", FOURTEENTH),
        ("Zurück am Montag.", MONDAY),
        ("Melden Sie sich nächste Woche.", MONDAY),
        ("Gerne im neuen Jahr.", NEW_YEAR_BACK),
        ("Bitte nach den Feiertagen.", NEW_YEAR_BACK),
    ],
)
def test_it_reads_german_phrases(text, expected):
    assert read(text, tz=ZoneInfo("Europe/Berlin")) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Je suis de retour le 14 décembre.", FOURTEENTH),
        ("De retour lundi.", MONDAY),
        ("Recontactez-moi la semaine prochaine.", MONDAY),
        ("Plutôt après les fêtes.", NEW_YEAR_BACK),
    ],
)
def test_it_reads_french_phrases(text, expected):
    assert read(text, tz=ZoneInfo("Europe/Paris")) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Estoy de vuelta el lunes.", MONDAY),
        ("Fuera de la oficina hasta el 14 de diciembre.", FOURTEENTH),
        ("Hablamos la próxima semana.", MONDAY),
        ("Mejor después de las fiestas.", NEW_YEAR_BACK),
    ],
)
def test_it_reads_spanish_phrases(text, expected):
    assert read(text, tz=ZoneInfo("Europe/Madrid")) == expected


def test_it_keeps_the_words_it_read_with_their_cue():
    reading = dates.read_return_date("I am out of office until Monday, thanks", received_at=SATURDAY, tz=LONDON)
    assert reading == dates.DateReading(MONDAY, "until Monday")


@pytest.mark.parametrize(("locale", "expected"), [("en-US", dt.date(2027, 3, 1)), ("en-GB", dt.date(2027, 1, 3))])
def test_it_reads_a_numeric_date_in_the_accounts_day_month_order(locale, expected):
    assert read("Returning 3/1.", order=dates.date_order(locale)) == expected


@pytest.mark.parametrize("locale", ["de", "fr", "es"])
def test_it_reads_day_first_in_continental_locales(locale):
    assert dates.date_order(locale) == "DMY"


def test_it_rolls_a_date_already_past_to_its_next_occurrence():
    assert read("Out until 14 December.", at=dt.datetime(2026, 12, 20, 9, tzinfo=dt.UTC)) == dt.date(2027, 12, 14)
    march = dt.datetime(2027, 3, 10, 9, tzinfo=dt.UTC)
    assert read("Returning 3/1.", at=march, order="MDY") == dt.date(2028, 3, 1)


def test_it_reads_back_on_monday_written_on_a_monday_as_the_next_one():
    assert read("Back on Monday.", at=dt.datetime(2026, 12, 7, 9, tzinfo=dt.UTC)) == dt.date(2026, 12, 14)


def test_it_reads_tomorrow_in_the_prospects_zone():
    late_sunday_utc = dt.datetime(2026, 12, 6, 20, tzinfo=dt.UTC)  # already Monday 05:00 in Tokyo
    assert read("Back tomorrow.", at=late_sunday_utc, tz=dt.UTC) == dt.date(2026, 12, 7)
    assert read("Back tomorrow.", at=late_sunday_utc, tz=ZoneInfo("Asia/Tokyo")) == dt.date(2026, 12, 8)


def test_it_crosses_the_year_end():
    new_years_eve = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
    assert read("Back tomorrow.", at=new_years_eve) == dt.date(2027, 1, 1)
    assert read("Back on Monday.", at=new_years_eve) == dt.date(2027, 1, 4)
    assert read("Back tomorrow.", at=new_years_eve, tz=ZoneInfo("Europe/Berlin")) == dt.date(2027, 1, 2)
    assert read("Out until 2 January.", at=new_years_eve) == dt.date(2027, 1, 2)


def test_it_reads_29_february_in_a_leap_year():
    february = dt.datetime(2028, 2, 20, 9, tzinfo=dt.UTC)
    assert read("Back on 29 February.", at=february) == dt.date(2028, 2, 29)
    assert read("Out until 29/2.", at=dt.datetime(2027, 3, 5, 9, tzinfo=dt.UTC)) == dt.date(2028, 2, 29)


@pytest.mark.parametrize(
    "text",
    [
        "Not now, sorry.",
        "Thanks, no.",
        "I may be back in a second.",
        "In a meeting now, a second please.",
        "Who are you? Please stop.",
        "Not now.\n\nOn Mon, 30 Nov 2026 at 10:00, Alice wrote:\n> Could we talk on 3 December?",
    ],
)
def test_it_reads_no_date_from_words_that_only_look_like_one(text):
    assert read(text) is None


def test_it_refuses_a_date_more_than_a_year_out():
    assert read("Back on 3 March 2029.") is None


def settle(text: str, proposed: dt.date | None, default: int = 7) -> dates.Snooze:
    return dates.snooze_settle(
        text=text,
        proposed=proposed,
        received_at=SATURDAY,
        tz=LONDON,
        order="DMY",
        default=dt.timedelta(days=default),
    )


def test_it_keeps_a_plausible_model_date_and_names_the_words_when_they_agree():
    assert settle("Back on Monday.", MONDAY) == dates.Snooze(MONDAY, "model", phrase="Back on Monday")
    assert settle("Back soon.", FOURTEENTH).summary == "the model's reading of the reply"


def test_it_refuses_a_model_date_in_the_past_for_the_replys_words():
    snooze = settle("Back on Monday.", dt.date(2025, 12, 7))
    assert (snooze.until, snooze.source, snooze.summary) == (MONDAY, "reply", "read from “Back on Monday”")
    assert "2025-12-07 is before the reply was received" in snooze.note


def test_it_refuses_a_model_date_over_a_year_out_for_the_default():
    snooze = settle("Out of office.", dt.date(2028, 6, 1), default=7)
    assert (snooze.until, snooze.source) == (dt.date(2026, 12, 12), "default")
    assert snooze.summary == "default: no date found in the reply"
    assert "more than a year away" in snooze.note


def test_it_falls_back_to_the_zone_of_the_project_for_a_blank_or_unknown_zone(settings):
    assert dates.zone("", "Not/AZone", "Asia/Tokyo") == ZoneInfo("Asia/Tokyo")
    assert dates.zone("", "") == ZoneInfo(settings.TIME_ZONE)
