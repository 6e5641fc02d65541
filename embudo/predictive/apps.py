from django.apps import AppConfig


class PredictiveConfig(AppConfig):
    name = "embudo.predictive"
    label = "predictive"
    verbose_name = "Predictive scoring"
