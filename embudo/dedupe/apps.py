from django.apps import AppConfig


class DedupeConfig(AppConfig):
    name = "embudo.dedupe"
    label = "dedupe"
    verbose_name = "Duplicates"
