"""/api/v1/stats carries the dashboard's pipeline: the same selectors, the same numbers."""

import pytest

from tests.reporting.test_pipeline import GPT, history  # noqa: F401 (the known history of deals)

pytestmark = pytest.mark.django_db
PERIOD = {"from": "2025-03-01", "to": "2025-03-10"}


def test_the_stats_carry_the_pipeline_of_the_period(client, as_bob, history):  # noqa: F811
    body = client.get("/api/v1/stats", PERIOD, headers=as_bob).json()
    stages = {row["name"]: (row["deals"], row["value"], row["weighted"]) for row in body["pipeline"]["open"]["stages"]}
    assert stages == {
        "Meeting": (1, {"EUR": "7000.00"}, {"EUR": "1400.00"}),
        "Needs assessed": (0, {}, {}),
        "Proposal sent": (1, {"EUR": "3000.00"}, {"EUR": "1800.00"}),
        "Negotiation": (1, {"USD": "5000.00"}, {"USD": "4000.00"}),
    }
    assert body["pipeline"]["open"]["total"]["value"] == {"EUR": "10000.00", "USD": "5000.00"}
    won, lost = body["pipeline"]["won"], body["pipeline"]["lost"]
    assert (won["deals"], won["value"], won["avg_days"]) == (2, {"EUR": "12500.00"}, 3.5)
    assert (lost["deals"], lost["reasons"]) == (1, [{"reason": "Chose a competitor", "deals": 1}])
    assert body["conversion"] == {
        "replied": 8,
        "meeting": 6,
        "won": 2,
        "meeting_rate": 75.0,
        "won_rate": 33.3,
        "reply_to_won": 25.0,
    }
    by_version = {row["name"]: (row["replied"], row["meeting"], row["won"]) for row in body["conversions"]["version"]}
    assert by_version == {GPT: (5, 3, 1), "template": (3, 3, 1)}
