from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "embudo.notifications"
    label = "notifications"
    verbose_name = "Notifications"
