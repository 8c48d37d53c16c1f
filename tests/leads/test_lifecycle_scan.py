"""No module writes Lead.status except through leads.lifecycle: a scan of the product's source."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("leads", "campaigns", "outreach", "approvals", "reporting", "salesdept")
LIFECYCLE = ROOT / "leads" / "lifecycle.py"
LEADISH = re.compile(r"lead", re.IGNORECASE)


def _root(node: ast.AST) -> str | None:
    """The name a chain like `Lead.objects.filter(...).exclude(...)` starts from."""
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, (ast.Attribute, ast.Subscript)):
            node = node.value
        elif isinstance(node, ast.Name):
            return node.id
        else:
            return None


def _lead_querysets(tree: ast.AST) -> set[str]:
    """`Lead`, and every name bound to a chain that starts from it (or from such a name)."""
    names = {"Lead"}
    assigns = [node for node in ast.walk(tree) if isinstance(node, ast.Assign | ast.AnnAssign)]
    while True:
        more = {
            target.id
            for node in assigns
            if node.value is not None and _root(node.value) in names
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Name)
        } - names
        if not more:
            return names
        names |= more


def _writes_status(call: ast.Call) -> bool:
    for keyword in call.keywords:
        if keyword.arg == "status":
            return True
        if (  # **{"status": ...}
            keyword.arg is None
            and isinstance(keyword.value, ast.Dict)
            and any(isinstance(key, ast.Constant) and key.value == "status" for key in keyword.value.keys)
        ):
            return True
    return False


def _names_status(node: ast.AST) -> bool:
    return isinstance(node, ast.List | ast.Tuple | ast.Set) and any(
        isinstance(item, ast.Constant) and item.value == "status" for item in node.elts
    )


def _lead_status_targets(node: ast.AST) -> list[str]:
    """`lead.status = …` (or `message.lead.status`, or inside a tuple): the object's source text."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    found = []
    for target in targets:
        for item in target.elts if isinstance(target, ast.Tuple) else [target]:
            if isinstance(item, ast.Attribute) and item.attr == "status":
                owner = item.value
                name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
                if LEADISH.search(name):
                    found.append(ast.unparse(owner))
    return found


def status_writes(source: str) -> list[str]:
    """Each way `source` changes a lead's status other than through the lifecycle, as `line: code`."""
    tree = ast.parse(source)
    leads = _lead_querysets(tree)
    findings = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and _root(node.func.value) in leads:
            updated = node.func.attr == "update" and _writes_status(node)
            fields = [*node.args, *(keyword.value for keyword in node.keywords)]
            if updated or (node.func.attr == "bulk_update" and any(_names_status(arg) for arg in fields)):
                findings.append(node)
    for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)):
        saved = {
            ast.unparse(call.func.value)
            for call in ast.walk(function)
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "save"
        }
        for node in ast.walk(function):
            if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
                if any(owner in saved for owner in _lead_status_targets(node)):
                    findings.append(node)
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "setattr"
                and len(node.args) >= 2
                and isinstance(node.args[1], ast.Constant)
                and node.args[1].value == "status"
                and ast.unparse(node.args[0]) in saved
                and LEADISH.search(ast.unparse(node.args[0]))
            ):
                findings.append(node)
    return sorted({f"{node.lineno}: {ast.unparse(node)[:120]}" for node in findings})


def _product_modules():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts and path != LIFECYCLE:
                yield path


def test_it_finds_no_status_write_outside_the_lifecycle():
    modules = list(_product_modules())
    assert len(modules) > 50, "the scan found too few modules: it is looking in the wrong place"
    found = {str(path.relative_to(ROOT)): writes for path in modules if (writes := status_writes(path.read_text()))}
    assert found == {}


def test_it_would_catch_the_lifecycle_module_itself():
    # The one module allowed to write the status does: the scanner sees it there.
    assert status_writes(LIFECYCLE.read_text())


VIOLATIONS = {
    "update on Lead": "Lead.objects.filter(pk=1).update(status='replied')",
    "update after exclude": (
        "Lead.objects.filter(pk=lead.pk).exclude(status=Lead.Status.DO_NOT_CONTACT).update(status=Lead.Status.REPLIED)"
    ),
    "update with a dict": "Lead.objects.filter(pk=1).update(**{'status': 'won'})",
    "update on a named queryset": "due = Lead.objects.filter(snoozed_until__lte=today)\nrows = due.only('pk')\n"
    "rows.update(status='qualified')",
    "bulk_update": "Lead.objects.bulk_update(leads, ['score', 'status'])",
    "bulk_update by keyword": "Lead.objects.bulk_update(leads, fields=('status',))",
    "assign and save": "def f(lead):\n    lead.status = 'won'\n    lead.save(update_fields=['status'])",
    "assign in a tuple and save": "def f(lead):\n    lead.status, lead.score = 'won', 1\n    lead.save()",
    "a message's lead": "def f(message):\n    message.lead.status = 'lost'\n    message.lead.save()",
    "setattr and save": "def f(lead):\n    setattr(lead, 'status', 'won')\n    lead.save()",
}


def test_it_catches_each_planted_violation():
    for name, snippet in VIOLATIONS.items():
        assert status_writes(snippet), f"missed: {name}"


ALLOWED = {
    "another model's status": "OutreachMessage.objects.filter(pk=1).update(status='sent')",
    "a lead's other fields": "Lead.objects.filter(pk=1).update(owner_id=3, snoozed_until=None)",
    "a read by status": "Lead.objects.filter(status='new').update(campaign_id=2)",
    "creating a new lead": "Lead.objects.create(first_name='A', status='new')",
    "keeping a copy in step, no save": "def f(lead):\n    lead.status = 'won'\n    return lead",
    "a campaign's status, saved": "def f(campaign):\n    campaign.status = 'paused'\n    campaign.save()",
}


def test_it_lets_other_writes_through():
    for name, snippet in ALLOWED.items():
        assert status_writes(snippet) == [], f"flagged: {name}"
