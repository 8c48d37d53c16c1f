from django.urls import path

from approvals import views

app_name = "approvals"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("count/", views.pending_count, name="count"),
    path("total/", views.queue_total, name="total"),
    path("bulk-approve/", views.bulk_approve, name="bulk_approve"),
    path("bulk-undo/", views.bulk_undo, name="bulk_undo"),
    path("requests/", views.campaign_requests, name="requests"),
    path("requests/new/", views.campaign_request_new, name="request_new"),
    path("requests/<int:pk>/", views.campaign_request_card, name="request_card"),
    path("requests/<int:pk>/approve/", views.campaign_request_approve, name="request_approve"),
    path("requests/<int:pk>/reject/", views.campaign_request_reject, name="request_reject"),
    path("<int:pk>/", views.item, name="item"),
    path("<int:pk>/approve/", views.approve, name="approve"),
    path("<int:pk>/regenerate/", views.regenerate, name="regenerate"),
    path("<int:pk>/reject/", views.reject, name="reject"),
    path("<int:pk>/snooze/", views.snooze, name="snooze"),
    path("<int:pk>/undo/", views.undo, name="undo"),
]
