from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "embudo.accounts"
    label = "accounts"
    verbose_name = "Accounts"
