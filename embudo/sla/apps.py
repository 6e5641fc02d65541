from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "embudo.sla"
    label = "sla"
    verbose_name = "Service levels"
