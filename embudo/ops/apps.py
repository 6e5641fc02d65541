from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Commands that run the whole product (demo, serve, db, bench): an interface layer above every context."""

    name = "embudo.ops"
    label = "ops"
    verbose_name = "Operations"
