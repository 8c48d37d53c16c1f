from django.urls import path

from campaigns import request_views, views

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

# Campaign requests keep their addresses and names beside the approval queue, where reps find them:
# approvals.urls mounts these at /approvals/requests/ as approvals:requests, approvals:request_new…
request_urlpatterns = [
    path("", request_views.campaign_requests, name="requests"),
    path("new/", request_views.campaign_request_new, name="request_new"),
    path("<int:pk>/", request_views.campaign_request_card, name="request_card"),
    path("<int:pk>/approve/", request_views.campaign_request_approve, name="request_approve"),
    path("<int:pk>/reject/", request_views.campaign_request_reject, name="request_reject"),
]
