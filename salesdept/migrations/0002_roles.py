"""The three roles as groups, with their model permissions.

Permissions do not exist yet on a fresh database when migrations run (they are made by a
post_migrate signal), so this migration creates them first.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

REP_PERMISSIONS = [
    ("leads", "view_lead"), ("leads", "change_lead"), ("leads", "view_activity"), ("leads", "view_company"),
    ("outreach", "view_outreachmessage"), ("outreach", "approve_outreachmessage"), ("outreach", "view_inboundmessage"),
    ("campaigns", "view_campaign"), ("campaigns", "add_campaignrequest"), ("campaigns", "view_campaignrequest"),
]
MANAGER_PERMISSIONS = REP_PERMISSIONS + [
    ("campaigns", "add_campaign"), ("campaigns", "change_campaign"), ("campaigns", "change_campaignrequest"),
    ("campaigns", "view_targetprofile"), ("campaigns", "add_targetprofile"), ("campaigns", "change_targetprofile"),
    ("campaigns", "add_sequencestep"), ("campaigns", "change_sequencestep"), ("campaigns", "view_sequencestep"),
    ("outreach", "view_sendingaccount"), ("reporting", "view_dailyreport"), ("salesdept", "view_llmcall"),
]
# Admins configure everything, users and roles included.
ADMIN_APPS = [
    "leads", "campaigns", "outreach", "reporting", "salesdept", "library", "presence", "hooks", "competitors", "deals",
    "crm", "proposals", "django_celery_beat", "auth", "account",
]  # fmt: skip


def assign_roles(Group, Permission) -> None:
    """Create the groups and give them their permissions (the permissions must exist)."""

    def permissions(pairs):
        found = Permission.objects.filter(
            content_type__app_label__in={app for app, _ in pairs}, codename__in={code for _, code in pairs}
        ).select_related("content_type")
        wanted = set(pairs)
        return [p for p in found if (p.content_type.app_label, p.codename) in wanted]

    Group.objects.get_or_create(name="Sales rep")[0].permissions.set(permissions(REP_PERMISSIONS))
    Group.objects.get_or_create(name="Manager")[0].permissions.set(permissions(MANAGER_PERMISSIONS))
    Group.objects.get_or_create(name="Admin")[0].permissions.set(
        Permission.objects.filter(content_type__app_label__in=ADMIN_APPS)
    )


def create_roles(apps, schema_editor):
    for app_config in apps.get_app_configs():
        models_module = getattr(app_config, "models_module", None)  # None on migration state apps
        app_config.models_module = models_module or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = models_module
    assign_roles(apps.get_model("auth", "Group"), apps.get_model("auth", "Permission"))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Sales rep", "Manager", "Admin"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("salesdept", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("leads", "0002_initial"),
        ("campaigns", "0002_initial"),
        ("outreach", "0001_initial"),
        ("reporting", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create_roles, remove_roles)]
