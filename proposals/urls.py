from django.urls import path

from proposals import views

app_name = "proposals"
urlpatterns = [
    path("leads/<int:pk>/needs/", views.needs_draft, name="needs_draft"),
    path("needs/<int:pk>/", views.needs_detail, name="needs"),
    path("needs/<int:pk>/proposal/", views.proposal_new, name="create"),
    path("<int:pk>/", views.proposal_edit, name="edit"),
    path("<int:pk>/pdf/", views.proposal_preview, name="pdf"),
    path("<int:pk>/send/", views.proposal_send_view, name="send"),
    path("<int:pk>/reopen/", views.proposal_reopen_view, name="reopen"),
    path("<int:pk>/new-version/", views.proposal_new_version_view, name="new_version"),
]
