from django.urls import path

from reporting import report_views

app_name = "reports"
urlpatterns = [
    path("", report_views.report_list, name="list"),
    path("<int:pk>/", report_views.report_detail, name="detail"),
    path("<int:pk>/email/", report_views.report_email, name="email"),
    path("<int:pk>/send/", report_views.report_resend, name="resend"),
]
