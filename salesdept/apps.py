import os

from django.apps import AppConfig
from django.conf import settings


class SalesdeptConfig(AppConfig):
    name = "salesdept"
    verbose_name = "Sales Department"

    def ready(self) -> None:
        # kombu's filesystem transport does not create its folders.
        if settings.CELERY_BROKER_URL.startswith("filesystem"):
            for folder in settings.CELERY_BROKER_TRANSPORT_OPTIONS.values():
                os.makedirs(folder, exist_ok=True)
