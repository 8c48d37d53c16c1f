from django.urls import path

from outreach import webhooks

app_name = "webhooks"
urlpatterns = [
    path("unipile/", webhooks.unipile_webhook, name="unipile"),
]
