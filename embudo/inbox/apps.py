from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "embudo.inbox"
    label = "inbox"
    verbose_name = "Inbox"
