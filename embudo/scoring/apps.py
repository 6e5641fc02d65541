from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "embudo.scoring"
    label = "scoring"
    verbose_name = "Scoring"
