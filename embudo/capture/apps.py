from django.apps import AppConfig


class CaptureConfig(AppConfig):
    name = "embudo.capture"
    label = "capture"
    verbose_name = "Capture"

    def ready(self) -> None:
        # Channel modules register their payload mappers on import; workers never load the URLconf,
        # so they are imported here for every process kind.
        from embudo.capture import forms_channel, inbound_email, w2l, whatsapp  # noqa: F401

        inbound_email.connect()
