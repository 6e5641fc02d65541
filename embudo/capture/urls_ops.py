"""Intake operations pages, mounted at ``capture/`` (namespace ``capture_ops``)."""

from django.urls import path

from embudo.capture import views_ops

app_name = "capture_ops"
urlpatterns = [
    path("intake/", views_ops.intake_report, name="intake"),
    path("submissions/<int:submission_id>/", views_ops.submission_detail, name="submission"),
    path("submissions/<int:submission_id>/replay/", views_ops.submission_replay, name="replay"),
    path("whatsapp/", views_ops.whatsapp_channels, name="whatsapp_channels"),
    path("whatsapp/new/", views_ops.whatsapp_channel_edit, name="whatsapp_channel_create"),
    path("whatsapp/<int:channel_id>/", views_ops.whatsapp_channel_edit, name="whatsapp_channel_edit"),
]
