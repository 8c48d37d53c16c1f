from django.urls import path

from hooks import views

app_name = "hooks"

urlpatterns = [
    path("", views.endpoints, name="endpoints"),
    path("add/", views.endpoint_add, name="add"),
    path("<int:pk>/", views.endpoint_detail, name="endpoint"),
    path("<int:pk>/remove/", views.endpoint_remove, name="remove"),
    path("deliveries/<int:pk>/replay/", views.delivery_replay_view, name="replay"),
]
