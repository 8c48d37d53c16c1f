from django.urls import path

from library import views

app_name = "library"
urlpatterns = [
    path("", views.item_list, name="list"),
    path("add/", views.item_add, name="add"),
    path("<int:pk>/", views.item_edit, name="edit"),
    path("<int:pk>/active/", views.item_toggle, name="toggle"),
]
