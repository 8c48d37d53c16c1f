from importlib import import_module

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.db.models.signals import post_migrate


def _stages_seeded(sender, apps=global_apps, **kwargs) -> None:
    """After every migrate (and test flush): a team without a single stage gets the default path back.

    Deals protect the stages they point at, so an empty table means a new install or a flushed
    database, never a team's choice: with no stage, no deal could open.
    """
    if not apps.get_model("deals", "DealStage").objects.exists():
        import_module("deals.migrations.0002_default_stages").seed(apps, None)


class DealsConfig(AppConfig):
    name = "deals"
    verbose_name = "Deals"

    def ready(self) -> None:
        post_migrate.connect(_stages_seeded, sender=self)
