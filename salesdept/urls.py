from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from outreach import views as outreach_views
from salesdept import token_views, views
from salesdept.api import urlpatterns as api_urlpatterns

admin.site.site_header = "Sales Department admin"
admin.site.site_title = "Sales Department"
# The admin login goes through allauth: the same rate limits as the app's login.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("metrics", views.metrics, name="metrics"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/<int:pk>/open/", views.notification_open, name="notification_open"),
    path("start/", views.getting_started, name="getting_started"),
    path("me/", views.profile, name="profile"),
    path("me/mailbox/", outreach_views.mailbox, name="mailbox"),
    path("me/signature/", views.profile_signature, name="profile_signature"),
    path("me/report-time/", views.profile_report_time, name="profile_report_time"),
    path("me/api-tokens/", token_views.api_token_new, name="api_token_new"),
    path("me/api-tokens/<int:pk>/revoke/", token_views.api_token_revoke_view, name="api_token_revoke"),
    path("settings/", views.team_settings, name="team_settings"),
    path("settings/model/", views.settings_model, name="settings_model"),
    path("settings/unipile/", views.settings_unipile, name="settings_unipile"),
    path("settings/webhooks/", include("hooks.urls")),
    path("settings/crm/", include("crm.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("approvals/posts/", include("presence.urls")),
    path("approvals/", include("approvals.urls")),
    path("library/", include("library.urls")),
    path("leads/", include("leads.urls")),
    path("deals/", include("deals.urls")),
    path("inbox/", include("outreach.urls")),
    path("campaigns/", include("campaigns.urls")),
    path("competitors/", include("competitors.urls")),
    path("dashboard/", include("reporting.urls")),
    path("reports/", include("reporting.report_urls")),
    path("proposals/", include("proposals.urls")),
    path("u/", include("outreach.unsubscribe_urls")),
    path("p/", include("proposals.link_urls")),
    path("webhooks/", include("outreach.webhook_urls")),
    path("api/v1/", include((api_urlpatterns(), "api"))),
]
