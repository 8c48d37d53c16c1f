"""Mounted at /p/ (salesdept/urls.py): short, because the link is printed in a message."""

from django.urls import path

from proposals import views

app_name = "proposal_link"
urlpatterns = [
    path("<str:token>/", views.proposal_link_pdf, name="pdf"),
]
