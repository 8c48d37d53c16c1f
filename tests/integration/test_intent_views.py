"""Profile views reserved for activity reads (leads.intent) never pass the daily cap, under real concurrency."""

import pytest

from outreach import limits
from outreach.models import SendCounter
from salesdept import clock
from tests.factories import SendingAccountFactory
from tests.integration.test_concurrency import THREADS, run_together, zone_at_midday

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_workers_reserving_views_together_take_exactly_the_cap_and_give_back_the_rest():
    now = clock.now()
    account = SendingAccountFactory(daily_profile_views=22, timezone=zone_at_midday(now))

    def reserve_and_use_three(_: int) -> int:
        taken = limits.profile_views_take_up_to(account, now, 5)
        if taken > 3:
            limits.profile_views_refund(account, now, taken - 3)  # as a run gives back what it did not use
        return min(taken, 3)

    used = run_together(THREADS, reserve_and_use_three)

    counter = SendCounter.objects.get(account=account, kind=SendCounter.Kind.PROFILE_VIEW)
    assert counter.count == sum(used) <= 22  # never past the cap, and nothing given back is lost
    # A worker may find views another holds for a moment (it then reads fewer people this run): the next run
    # has them, as long as the day lasts.
    assert limits.profile_views_take_up_to(account, now, 100) == 22 - sum(used)
