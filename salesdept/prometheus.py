"""`/metrics` for Prometheus: the product's state read from the database at scrape time, plus the
requests and Celery tasks each process counted itself.

The database part holds for any number of web and worker processes on any number of machines:
it is read when Prometheus asks. Requests and task outcomes are counted where they happen; with
several processes on a machine, PROMETHEUS_MULTIPROC_DIR (set before the process starts, emptied
when the service starts) lets the scraped process sum them all (prometheus-client's multiprocess
mode). Every label comes from a fixed vocabulary (a view's name, a status, a purpose): nothing
personal, no message text, no address.
"""

import ipaddress
import os
import secrets
import time
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Min, Sum
from django.http import HttpRequest
from kombu.exceptions import ChannelError
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from salesdept import clock

REQUESTS = Histogram(
    "salesdept_http_request_duration_seconds",
    "Time to answer a request, by view, method and status.",
    ["view", "method", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
TASKS = Counter("salesdept_celery_tasks", "Celery tasks run in this process, by task and outcome.", ["task", "outcome"])


def request_observe(request: HttpRequest, status: int, seconds: float) -> None:
    match = getattr(request, "resolver_match", None)
    view = match.view_name if match else "unmatched"  # a 404's path is the visitor's text: never a label
    REQUESTS.labels(view=view, method=request.method, status=str(status)).observe(seconds)


def task_count(task_name: str, outcome: str) -> None:
    TASKS.labels(task=task_name or "unknown", outcome=outcome).inc()


def scrape_allowed(request: HttpRequest) -> bool:
    """A bearer token (METRICS_TOKEN) or an address in METRICS_ALLOWED_NETWORKS (local by default)."""
    header = request.headers.get("Authorization", "")
    if settings.METRICS_TOKEN and header.startswith("Bearer "):
        return secrets.compare_digest(header.removeprefix("Bearer ").encode(), settings.METRICS_TOKEN.encode())
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network) for network in settings.METRICS_ALLOWED_NETWORKS)


def metrics_text() -> bytes:
    """What a scrape reads: this machine's processes' counters, then the database's state."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_ProcessCounters())
    registry.register(DatabaseCollector())
    return generate_latest(registry)


class _ProcessCounters:
    """This process's request and task metrics, when there is no multiprocess directory."""

    def collect(self) -> Iterator:
        yield from REQUESTS.collect()
        yield from TASKS.collect()


class DatabaseCollector:
    """The state of the work, read at scrape time: a few grouped queries on indexed columns."""

    def collect(self) -> Iterator:
        started = time.perf_counter()
        yield from _messages()
        yield from _replies()
        yield from _model_calls()
        yield from _budget()
        yield from _backlog()
        yield from _accounts()
        yield from _imports()
        yield from _queues()
        took = GaugeMetricFamily("salesdept_scrape_database_seconds", "Time this scrape spent reading the database.")
        took.add_metric([], time.perf_counter() - started)
        yield took


def _messages() -> Iterator:
    from outreach.models import OutreachMessage

    family = GaugeMetricFamily(
        "salesdept_messages",
        "Outreach messages by channel and status.",
        labels=["channel", "status"],
    )
    rows = OutreachMessage.objects.values("account__channel", "status").annotate(n=Count("pk")).order_by()
    for row in rows:
        family.add_metric([row["account__channel"] or "none", row["status"]], row["n"])
    yield family


def _replies() -> Iterator:
    from outreach.models import InboundMessage

    family = CounterMetricFamily("salesdept_replies", "Replies by the intent read.", labels=["intent"])
    for row in InboundMessage.objects.values("intent").annotate(n=Count("pk")).order_by():
        family.add_metric([row["intent"] or "not_analysed"], row["n"])
    yield family


def _model_calls() -> Iterator:
    from salesdept.models import LLMCall

    calls = CounterMetricFamily("salesdept_llm_calls", "Model calls.", labels=["purpose", "outcome"])
    tokens = CounterMetricFamily("salesdept_llm_tokens", "Model tokens.", labels=["purpose", "direction"])
    cost = CounterMetricFamily("salesdept_llm_cost_usd", "Model spend in US dollars, by purpose.", labels=["purpose"])
    rows = LLMCall.objects.values("purpose", "outcome").annotate(
        n=Count("pk"), tokens_in=Sum("tokens_in"), tokens_out=Sum("tokens_out"), cost=Sum("cost_usd")
    )
    per_purpose: dict[str, list] = {}
    for row in rows.order_by():
        calls.add_metric([row["purpose"], row["outcome"]], row["n"])
        total = per_purpose.setdefault(row["purpose"], [0, 0, 0.0])
        total[0] += row["tokens_in"] or 0
        total[1] += row["tokens_out"] or 0
        total[2] += float(row["cost"] or 0)
    for purpose, (tokens_in, tokens_out, usd) in per_purpose.items():
        tokens.add_metric([purpose, "in"], tokens_in)
        tokens.add_metric([purpose, "out"], tokens_out)
        cost.add_metric([purpose], usd)
    yield from (calls, tokens, cost)


def _budget() -> Iterator:
    """Today's model spend against the daily budget (the gateway refuses calls past it): for the alert rule."""
    from salesdept.llm.budget import spent_today
    from salesdept.teamconfig import llm_config

    budget = GaugeMetricFamily("salesdept_llm_budget_usd", "The daily model budget in US dollars.")
    budget.add_metric([], llm_config().daily_budget_usd)
    spent = GaugeMetricFamily("salesdept_llm_spent_today_usd", "Model spend so far today (local day), US dollars.")
    spent.add_metric([], float(spent_today()))
    yield from (budget, spent)


def _backlog() -> Iterator:
    from approvals.selectors import drafts_waiting

    waiting = drafts_waiting().aggregate(n=Count("pk"), oldest=Min("created_at"))
    count = GaugeMetricFamily("salesdept_approval_backlog", "Drafts waiting in the approval queue.")
    count.add_metric([], waiting["n"])
    age = GaugeMetricFamily("salesdept_approval_oldest_age_seconds", "How long the oldest waiting draft has waited.")
    age.add_metric([], (clock.now() - waiting["oldest"]).total_seconds() if waiting["oldest"] else 0)
    yield from (count, age)


def _accounts() -> Iterator:
    from outreach.models import SendingAccount

    family = GaugeMetricFamily("salesdept_accounts", "Active sending accounts.", labels=["channel", "health"])
    rows = SendingAccount.objects.filter(is_active=True).values("channel", "health").annotate(n=Count("pk"))
    for row in rows.order_by():
        family.add_metric([row["channel"], row["health"]], row["n"])
    yield family


def _imports() -> Iterator:
    from leads.models import ImportJob

    family = GaugeMetricFamily("salesdept_imports", "CSV imports by status.", labels=["status"])
    for row in ImportJob.objects.values("status").annotate(n=Count("pk")).order_by():
        family.add_metric([row["status"]], row["n"])
    durations = SummaryMetricFamily("salesdept_import_duration_seconds", "How long finished CSV imports took.")
    finished = ImportJob.objects.filter(started_at__isnull=False, finished_at__isnull=False)
    spans = [(end - start).total_seconds() for start, end in finished.values_list("started_at", "finished_at")]
    durations.add_metric([], count_value=len(spans), sum_value=sum(spans))
    yield from (family, durations)


def _queues() -> Iterator:
    """Messages waiting in the broker for a worker: a backlog here means too few workers."""
    from salesdept.celery import app

    length = GaugeMetricFamily("salesdept_celery_queue_length", "Tasks waiting in the broker.", labels=["queue"])
    up = GaugeMetricFamily("salesdept_celery_broker_up", "1 when the broker answered this scrape.")
    queue = app.conf.task_default_queue
    try:
        with app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
            try:
                waiting = connection.default_channel.queue_declare(queue=queue, passive=True).message_count
            except ChannelError:  # no worker has declared the queue yet: nothing waits in it
                waiting = 0
    except Exception:  # noqa: BLE001 - a scrape reports a broker it cannot reach, it never fails
        up.add_metric([], 0)
    else:
        up.add_metric([], 1)
        length.add_metric([queue], waiting)
    yield from (length, up)
