from django.apps import AppConfig


class FollowupsConfig(AppConfig):
    name = "embudo.followups"
    label = "followups"
    verbose_name = "Tasks and reminders"
