from django.urls import include, path

from approvals import views
from campaigns.urls import request_urlpatterns

app_name = "approvals"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("count/", views.pending_count, name="count"),
    path("total/", views.queue_total, name="total"),
    path("bulk-approve/", views.bulk_approve, name="bulk_approve"),
    path("bulk-undo/", views.bulk_undo, name="bulk_undo"),
    path("requests/", include(request_urlpatterns)),  # campaign requests: the campaigns app's views
    path("<int:pk>/", views.item, name="item"),
    path("<int:pk>/approve/", views.approve, name="approve"),
    path("<int:pk>/regenerate/", views.regenerate, name="regenerate"),
    path("<int:pk>/reject/", views.reject, name="reject"),
    path("<int:pk>/snooze/", views.snooze, name="snooze"),
    path("<int:pk>/undo/", views.undo, name="undo"),
]
