from django.apps import AppConfig


class CompetitorsConfig(AppConfig):
    name = "competitors"
    verbose_name = "Competitor watch"
