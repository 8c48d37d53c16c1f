"""/metrics with two real worker processes: their task counters are summed, their sends and model calls shown.

Both workers write prometheus-client's multiprocess files into one PROMETHEUS_MULTIPROC_DIR, as
the web and worker processes of one machine do in production; the scrape (this process, with the
same directory) must add them up. Nothing in it may name a person, an account or a message.
"""

import json
from collections import Counter
from pathlib import Path

import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from leads.models import Lead
from leads.tasks import leads_qualify_task
from outreach.models import OutreachMessage
from outreach.tasks import outreach_send_next_task
from salesdept.models import LLMCall
from tests.factories import CampaignFactory, LeadFactory
from tests.integration.conftest import wait_for
from tests.integration.test_send_workers import MONDAY_9, approve_all, make_accounts, set_clock
from tests.integration.test_worker_llm import model

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ACCOUNTS, PER_ACCOUNT, TO_QUALIFY = 4, 5, 6
SEND_TASK = "outreach.tasks.outreach_send_next_task"
QUALIFY_TASK = "leads.tasks.leads_qualify_task"


def task_successes(files: list[str]) -> Counter[str]:
    """Successful task runs by task name, read from these multiprocess files only."""
    found: Counter[str] = Counter()
    for metric in MultiProcessCollector.merge(files, accumulate=True):
        for sample in metric.samples:
            if sample.name == "salesdept_celery_tasks_total" and sample.labels["outcome"] == "success":
                found[sample.labels["task"]] += sample.value
    return found


def scrape(client) -> tuple[str, dict[tuple, float]]:
    text = client.get("/metrics").content.decode()
    totals: Counter[tuple] = Counter()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            totals[(sample.name, tuple(sorted(sample.labels.items())))] += sample.value
    return text, totals


def test_metrics_add_up_two_workers_sends_and_model_calls(
    settings, tmp_path, alice, bob, fake_openai, celery_worker_process, client, monkeypatch
):
    clock_file, shared = tmp_path / "clock", tmp_path / "prometheus"
    shared.mkdir()
    set_clock(clock_file, MONDAY_9)
    settings.CLOCK_FILE = str(clock_file)
    fake_openai.default = model
    accounts = make_accounts(alice, ACCOUNTS, daily_messages=50, min_gap_seconds=0, max_gap_seconds=0)
    campaign = CampaignFactory(owner=bob, status="active", accounts=accounts)
    for account in accounts:
        approve_all(campaign, account, alice, PER_ACCOUNT, provider_id="ACo-inject-slow")
    new_leads = [LeadFactory(campaign=campaign, owner=alice, status=Lead.Status.NEW) for _ in range(TO_QUALIFY)]
    env = {
        "SALESDEPT_CLOCK_FILE": str(clock_file),
        "SANDBOX_SLOW_SECONDS": "0.3",  # a provider's answer takes time: both workers get sends to do
        "PROMETHEUS_MULTIPROC_DIR": str(shared),
        "OPENAI_API_KEY": "test-key",
        "LLM_BASE_URL": fake_openai.base_url,
    }
    workers = [celery_worker_process(beat=False, **env), celery_worker_process(beat=False, purge=False, **env)]

    sends = ACCOUNTS * PER_ACCOUNT
    for _ in range(PER_ACCOUNT):
        for account in accounts:
            outreach_send_next_task.delay(account.pk)
    for lead in new_leads:
        leads_qualify_task.delay([lead.pk])
    wait_for("every approved message sent", lambda: OutreachMessage.objects.filter(status="sent").count() == sends)
    wait_for("every lead qualified", lambda: not Lead.objects.filter(pk__in=[x.pk for x in new_leads], status="new"))
    # Which worker each file's process belongs to: a pool process is in its worker's process group.
    files = sorted(str(path) for path in Path(shared).glob("counter_*.db"))
    group_of = {worker.process.pid: worker for worker in workers}
    by_worker: dict[int, list[str]] = {}
    for path in files:
        pid = int(Path(path).stem.split("_")[1])
        by_worker.setdefault(_group(pid), []).append(path)
    for worker in workers:
        worker.stop()  # warm: what ran is counted, and the files stay for the scrape

    per_worker = {pgid: task_successes(paths) for pgid, paths in by_worker.items() if pgid in group_of}
    assert len(per_worker) == 2 and all(counts[SEND_TASK] > 0 for counts in per_worker.values()), per_worker
    print("successful send tasks per worker:", [counts[SEND_TASK] for counts in per_worker.values()])
    log_lines = [json.loads(line) for line in workers[0].log_text().splitlines() if line.startswith("{")]
    sent_lines = [line for line in log_lines if line["message"].startswith("sending message")]
    assert sent_lines and all(line["task_id"] and line["lead_id"] for line in sent_lines)  # JSON, with the ids
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(shared))
    text, found = scrape(client)

    sent_by_tasks = sum(counts[SEND_TASK] for counts in per_worker.values())
    assert found[("salesdept_celery_tasks_total", (("outcome", "success"), ("task", SEND_TASK)))] == sent_by_tasks
    assert sent_by_tasks == PER_ACCOUNT * ACCOUNTS  # every send task ran once, in one worker or the other
    assert found[("salesdept_celery_tasks_total", (("outcome", "success"), ("task", QUALIFY_TASK)))] >= TO_QUALIFY
    assert found[("salesdept_messages", (("channel", "sandbox"), ("status", "sent")))] == sends
    calls = LLMCall.objects.filter(purpose="qualify", outcome="ok").count()
    assert calls >= TO_QUALIFY
    assert found[("salesdept_llm_calls_total", (("outcome", "ok"), ("purpose", "qualify")))] == calls
    for personal in ("Lena", "Park", "linkedin.com", "alice@example.com", "@example", "ACo-inject", "Hi "):
        assert personal not in text


def _group(pid: int) -> int:
    import os

    try:
        return os.getpgid(pid)
    except ProcessLookupError:  # a pool process that already exited: not one of the workers' now
        return -1
