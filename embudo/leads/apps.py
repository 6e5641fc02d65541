from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "embudo.leads"
    label = "leads"
    verbose_name = "Leads"
