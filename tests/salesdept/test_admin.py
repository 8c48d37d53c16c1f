import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType

from leads.models import Lead

pytestmark = pytest.mark.django_db


def test_every_admin_page_opens_for_an_admin(client, carol, pending):
    client.force_login(carol)
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        base = f"/admin/{meta.app_label}/{meta.model_name}/"
        assert client.get(base).status_code == 200, base
        assert client.get(base, {"q": "x"}).status_code == 200, base
        if model_admin.has_add_permission(type("R", (), {"user": carol})()):
            assert client.get(f"{base}add/").status_code == 200, base
        if obj := model.objects.first():
            assert client.get(f"{base}{obj.pk}/change/").status_code == 200, base


def test_the_audit_log_cannot_be_edited_in_admin(client, carol, pending):
    from leads.models import Activity

    activity = Activity.objects.create(lead=pending.lead, verb="lead.found")
    client.force_login(carol)
    client.post(f"/admin/leads/activity/{activity.pk}/change/", {"verb": "forged"})
    activity.refresh_from_db()
    assert activity.verb == "lead.found"


def test_a_leads_status_and_hand_set_score_are_shown_in_admin_not_edited(client, carol, pending):
    """Both change on the lead's page, through the lifecycle and lead_override_score (timeline, send order)."""
    client.force_login(carol)
    page = client.get(f"/admin/leads/lead/{pending.lead_id}/change/")
    assert page.status_code == 200
    assert 'name="status"' not in page.text and 'name="score_override"' not in page.text
    view_on_site = f"/admin/r/{ContentType.objects.get_for_model(Lead).pk}/{pending.lead_id}/"
    assert view_on_site in page.text  # "View on site": the lead's page, where both change
    assert client.get(view_on_site).url.endswith(f"/leads/{pending.lead_id}/")
