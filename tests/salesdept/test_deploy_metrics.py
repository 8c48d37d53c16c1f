"""deploy/: every metric the Grafana dashboard and the alert rules read is one /metrics exposes."""

import json
import re

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from hooks.tasks import deliveries_due_task
from salesdept.settings import BASE_DIR
from tests.salesdept.test_prometheus import work  # noqa: F401 (a day's work: sends, a reply, model calls)

pytestmark = pytest.mark.django_db
DEPLOY = BASE_DIR / "deploy"
NAME = re.compile(r"\bsalesdept_[a-z0-9_]+\b")


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def alert_rules() -> dict[str, str]:
    rules = yaml.safe_load((DEPLOY / "prometheus-alerts.yml").read_text())
    return {rule["alert"]: rule["expr"] for group in rules["groups"] for rule in group["rules"]}


def exposed_names(client) -> set[str]:
    """The sample names of a scrape after a request and a task ran in this process (so their series exist)."""
    client.get("/healthz")
    deliveries_due_task.apply()
    text = client.get("/metrics").content.decode()
    return {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}


def test_every_metric_the_dashboard_and_the_rules_use_is_exposed(client, work):  # noqa: F811
    used = {name for expr in [*dashboard_expressions(), *alert_rules().values()] for name in NAME.findall(expr)}
    exposed = exposed_names(client)

    assert used - exposed == set()
    assert len(used) >= 12  # the names are really read from both files


def test_the_dashboard_has_the_panels_an_operator_needs():
    titles = {panel["title"] for panel in json.loads((DEPLOY / "grafana-dashboard.json").read_text())["panels"]}
    for needed in ("Approval backlog", "Oldest waiting draft", "Sends by outcome", "Replies by intent (per day)"):
        assert needed in titles
    assert {
        "Request latency p95 by view",
        "Celery queue length",
        "Broker up",
        "Model cost by purpose (per day)",
    } <= titles


def test_the_rules_alert_on_backlog_age_errors_paused_accounts_and_budget():
    rules = alert_rules()
    assert "salesdept_approval_oldest_age_seconds" in rules["SalesDeptApprovalBacklogOld"]
    assert 'status=~"5.."' in rules["SalesDeptHTTPErrorRate"]
    assert 'health!="ok"' in rules["SalesDeptAccountsPaused"]
    assert "salesdept_llm_budget_usd" in rules["SalesDeptModelBudgetNearlySpent"]
