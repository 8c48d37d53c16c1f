from django.urls import path

from crm import views

app_name = "crm"

urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:kind>/", views.connection, name="connection"),
    path("<slug:kind>/connect/", views.connect, name="connect"),
    path("<slug:kind>/sync/", views.sync_now, name="sync"),
    path("<slug:kind>/mapping/", views.mapping, name="mapping"),
    path("<slug:kind>/mapping/save/", views.mapping_save, name="mapping_save"),
]
