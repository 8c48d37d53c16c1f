from django.urls import path

from campaigns import views

app_name = "campaigns"
urlpatterns = [
    path("", views.campaign_index, name="list"),
    path("new/", views.campaign_new, name="new"),
    path("<int:pk>/", views.campaign_detail, name="detail"),
    path("<int:pk>/edit/", views.campaign_edit, name="edit"),
    path("<int:pk>/find-leads/", views.campaign_find_leads, name="find_leads"),
    path("<int:pk>/status/", views.campaign_status, name="status"),
    path("<int:pk>/sheet/", views.campaign_sheet, name="sheet"),
    path("<int:pk>/sheet/sync/", views.campaign_sheet_sync, name="sheet_sync"),
]
