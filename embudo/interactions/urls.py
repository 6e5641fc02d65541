from django.urls import path

from embudo.interactions import views

app_name = "interactions"
urlpatterns = [
    path("leads/<int:lead_id>/", views.lead_page, name="lead_page"),
    path("leads/<int:lead_id>/panel/", views.lead_panel, name="lead_panel"),
    path("leads/<int:lead_id>/recent/", views.recent, name="recent"),
    path("leads/<int:lead_id>/call/", views.log, {"kind": "call"}, name="log_call"),
    path("leads/<int:lead_id>/meeting/", views.log, {"kind": "meeting"}, name="log_meeting"),
    path("leads/<int:lead_id>/email/", views.log, {"kind": "email"}, name="send_email"),
    path("leads/<int:lead_id>/whatsapp/", views.log, {"kind": "whatsapp"}, name="log_whatsapp"),
    path("<int:interaction_id>/retry/", views.retry_email, name="retry_email"),
]
