import importlib
import os

from django.apps import AppConfig
from django.apps import apps as global_apps
from django.conf import settings
from django.db.models.signals import post_migrate


def _sync_roles(sender, apps=global_apps, **kwargs) -> None:
    """After every migrate (and test flush): the roles hold the permissions of every model, new ones too."""
    importlib.import_module("salesdept.migrations.0002_roles").create_roles(apps, None)


class SalesdeptConfig(AppConfig):
    name = "salesdept"
    verbose_name = "Sales Department"

    def ready(self) -> None:
        post_migrate.connect(_sync_roles, sender=self)
        # kombu's filesystem transport does not create its folders.
        if settings.CELERY_BROKER_URL.startswith("filesystem"):
            options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
            for key in ("data_folder_in", "data_folder_out", "control_folder"):
                os.makedirs(options[key], exist_ok=True)
