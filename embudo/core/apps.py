from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "embudo.core"
    label = "core"
    verbose_name = "Core"
