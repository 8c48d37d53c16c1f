from django.urls import path

from leads import views

app_name = "leads"
urlpatterns = [
    path("", views.lead_list, name="list"),
    path("<int:pk>/", views.lead_detail, name="detail"),
    path("<int:pk>/do-not-contact/", views.lead_do_not_contact, name="do_not_contact"),
    path("<int:pk>/score/", views.lead_score, name="score"),
]
