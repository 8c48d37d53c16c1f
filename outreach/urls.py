from django.urls import path

from outreach import views

app_name = "outreach"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("replies/<int:pk>/confirm/", views.inbox_confirm, name="inbox_confirm"),
    path("checking/", views.needs_checking, name="needs_checking"),
    path("checking/<int:pk>/sent/", views.check_mark_sent, name="check_mark_sent"),
    path("checking/<int:pk>/resend/", views.check_resend, name="check_resend"),
    path("checking/<int:pk>/give-up/", views.check_give_up, name="check_give_up"),
    path("checking/accounts/<int:pk>/resume/", views.account_resume_sending, name="account_resume"),
    path("linkedin/connect/", views.linkedin_connect, name="linkedin_connect"),
    path("linkedin/<int:pk>/reconnect/", views.linkedin_reconnect, name="linkedin_reconnect"),
]
