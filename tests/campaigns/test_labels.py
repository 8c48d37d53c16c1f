"""The label rules (campaigns/labels.py), which the campaign form, the request form and the services share."""

import pytest

from campaigns.labels import label_errors, label_names, labels_as_text, labels_from_text
from campaigns.models import Campaign


def test_it_reads_labels_typed_one_per_line_and_writes_them_back_the_same():
    text = "Speaker: Could speak | a talk on the main stage\n\n  Sponsor :  Could sponsor  \nOther"
    labels = labels_from_text(text)
    assert labels == [
        {"name": "Speaker", "description": "Could speak", "angle": "a talk on the main stage"},
        {"name": "Sponsor", "description": "Could sponsor"},
        {"name": "Other", "description": ""},
    ]
    assert labels_from_text(labels_as_text(labels)) == labels


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "Add at least one label"),
        (": no name", "Every label needs a name before its colon."),
        ("x" * 51 + ": too long", "Label names are at most 50 characters"),
        ("Speaker: " + "x" * 201, "A label's description is at most 200 characters"),
        ("Speaker: one\nSPEAKER : two", "Each label needs its own name: 'SPEAKER' appears twice."),
    ],
)
def test_it_explains_labels_that_cannot_be_used_rather_than_cutting_them(text, error):
    errors = label_errors(labels_from_text(text))
    assert any(error in message for message in errors), errors


def test_it_accepts_labels_at_their_limits():
    assert label_errors(labels_from_text("x" * 50 + ": " + "y" * 200)) == []


def test_it_reads_the_names_of_labels_an_admin_left_malformed_without_failing():
    stored = [
        {"name": "Speaker"},
        {"description": "no name"},
        "Sponsor",
        {"name": 7},
        {"name": "  "},
        {"name": "Other"},
    ]
    assert label_names(stored) == ["Speaker", "Other"]
    assert label_names({"name": "Speaker"}) == []
    assert Campaign(labels=stored).label_names == ["Speaker", "Other"]
