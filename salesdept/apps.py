import os

from django.apps import AppConfig
from django.conf import settings


class SalesdeptConfig(AppConfig):
    name = "salesdept"
    verbose_name = "Sales Department"

    def ready(self) -> None:
        # kombu's filesystem transport does not create its folders.
        if settings.CELERY_BROKER_URL.startswith("filesystem"):
            options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
            for key in ("data_folder_in", "data_folder_out", "control_folder"):
                os.makedirs(options[key], exist_ok=True)
