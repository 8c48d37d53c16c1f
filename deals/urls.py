from django.urls import path

from deals import views

app_name = "deals"
urlpatterns = [
    path("", views.board, name="board"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/move/", views.move, name="move"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("open/<int:pk>/", views.open_for_lead, name="open"),
]
