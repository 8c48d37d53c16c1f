"""Mounted at /u/ (salesdept/urls.py): short, because the link is printed in every email."""

from django.urls import path

from outreach import unsubscribe

app_name = "unsubscribe"
urlpatterns = [
    path("<str:token>/", unsubscribe.unsubscribe, name="unsubscribe"),
]
