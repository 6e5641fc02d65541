from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "embudo.routing"
    label = "routing"
    verbose_name = "Routing"
