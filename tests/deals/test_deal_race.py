"""Two reps moving one deal at once (a board drag and a form, or two browsers): one move wins."""

import pytest

from deals.models import Deal, DealStage
from deals.services import DealError, deal_move, deal_open
from leads.models import Activity, Lead
from tests.factories import LeadFactory
from tests.integration.test_concurrency import THREADS, run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_of_concurrent_moves_from_the_same_stage_exactly_one_wins(alice):
    lead = LeadFactory(status=Lead.Status.MEETING, owner=alice)
    deal = deal_open(lead=lead, actor=alice)
    targets = list(DealStage.objects.exclude(pk=deal.stage_id).exclude(outcome="lost"))

    # Every rep's page was read before anyone moved: read after a move, a page would rightly move on from there.
    pages = [Deal.objects.select_related("lead", "stage", "campaign").get(pk=deal.pk) for _ in range(THREADS)]

    def move(index: int) -> str:
        try:
            deal_move(deal=pages[index], stage=targets[index % len(targets)], actor=alice)
        except DealError:
            return "refused"
        return "moved"

    outcomes = run_together(THREADS, move)
    assert sorted(outcomes) == ["moved"] + ["refused"] * (THREADS - 1)
    assert Activity.objects.filter(lead=lead, verb="deal.stage_changed").count() == 1
    final = Deal.objects.get(pk=deal.pk)
    closed_won = final.stage.outcome == "won"
    assert Lead.objects.get(pk=lead.pk).status == (Lead.Status.WON if closed_won else Lead.Status.MEETING)
