from django.urls import path

from outreach import webhooks

app_name = "webhooks"
urlpatterns = [
    path("unipile/", webhooks.unipile_webhook, name="unipile"),
    path("unipile/linkedin/<uuid:link_id>/<str:token>/", webhooks.linkedin_notify_view, name="linkedin_notify"),
]
