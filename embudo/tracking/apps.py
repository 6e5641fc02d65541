from django.apps import AppConfig


class TrackingConfig(AppConfig):
    name = "embudo.tracking"
    label = "tracking"
    verbose_name = "Behaviour tracking"
