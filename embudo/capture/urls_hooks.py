"""Inbound webhooks of capture channels, mounted at ``hooks/`` (anymail's own are at ``hooks/anymail/``)."""

from django.urls import path

from embudo.capture import whatsapp

app_name = "capture_hooks"
urlpatterns = [
    path("whatsapp/", whatsapp.webhook, name="whatsapp"),
]
