from django.urls import path

from presence import views

app_name = "posts"
urlpatterns = [
    path("", views.queue, name="queue"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/approve/", views.approve, name="approve"),
    path("<int:pk>/reject/", views.reject, name="reject"),
    path("<int:pk>/settle/", views.settle, name="settle"),
    path("opt-in/", views.opt_in, name="opt_in"),
]
