from django.apps import AppConfig


class CaptureConfig(AppConfig):
    name = "embudo.capture"
    label = "capture"
    verbose_name = "Capture"
