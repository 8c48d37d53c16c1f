from django.urls import path

from leads import views

app_name = "leads"
urlpatterns = [
    path("", views.lead_list, name="list"),
    path("export.csv", views.lead_list_csv, name="list_csv"),
    path("<int:pk>/", views.lead_detail, name="detail"),
    path("<int:pk>/do-not-contact/", views.lead_do_not_contact, name="do_not_contact"),
    path("<int:pk>/score/", views.lead_score, name="score"),
    path("<int:pk>/meeting/", views.lead_meeting, name="meeting"),
    path("<int:pk>/nurture/", views.lead_nurture, name="nurture"),
    path("<int:pk>/snooze/", views.lead_snooze_view, name="snooze"),
    path("<int:pk>/write/", views.lead_write, name="write"),
    path("<int:pk>/label/", views.lead_relabel_view, name="relabel"),
    path("<int:pk>/requalify/", views.lead_requalify_view, name="requalify"),
    path("<int:pk>/tasks/", views.lead_task_add, name="task_add"),
    path("tasks/", views.task_list, name="tasks"),
    path("tasks/<int:pk>/done/", views.task_done, name="task_done"),
    path("tasks/<int:pk>/cancel/", views.task_cancel, name="task_cancel"),
    path("<int:pk>/export.json", views.lead_export_view, name="export"),
    path("<int:pk>/erase/", views.lead_erase_view, name="erase"),
    path("import/", views.import_new, name="import_new"),
    path("import/<int:pk>/", views.import_detail, name="import_detail"),
    path("import/<int:pk>/progress/", views.import_progress_view, name="import_progress"),
    path("import/<int:pk>/rows-left-out.csv", views.import_errors, name="import_errors"),
]
