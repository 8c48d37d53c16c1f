from django.urls import path

from campaigns import views

app_name = "campaigns"
urlpatterns = [
    path("", views.campaign_index, name="list"),
    path("<int:pk>/", views.campaign_detail, name="detail"),
    path("<int:pk>/find-leads/", views.campaign_find_leads, name="find_leads"),
    path("<int:pk>/status/", views.campaign_status, name="status"),
]
