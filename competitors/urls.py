from django.urls import path

from competitors import views

app_name = "competitors"
urlpatterns = [
    path("", views.competitor_index, name="list"),
    path("new/", views.competitor_new, name="new"),
    path("<int:pk>/", views.competitor_detail, name="detail"),
    path("<int:pk>/edit/", views.competitor_edit, name="edit"),
    path("<int:pk>/angle/", views.competitor_angle_accept, name="angle"),
    path("<int:pk>/engagers/", views.competitor_engagers, name="engagers"),
]
