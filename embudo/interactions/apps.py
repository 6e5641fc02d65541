from django.apps import AppConfig


class InteractionsConfig(AppConfig):
    name = "embudo.interactions"
    label = "interactions"
    verbose_name = "Interactions"
