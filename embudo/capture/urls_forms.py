"""URLs of the forms channel: public form, embed, double opt-in, Web-to-Lead and the form builder.

Included at the root by ``config/urls.py``: ``path("", include("embudo.capture.urls_forms"))``.
"""

from django.urls import path

from embudo.capture import views_forms

app_name = "capture_forms"

urlpatterns = [
    path("f/confirm/<str:token>/", views_forms.confirm, name="confirm"),
    path("f/<slug:slug>/", views_forms.public_form, name="public"),
    path("f/<slug:slug>/embed.js", views_forms.embed_js, name="embed_js"),
    path("f/<slug:slug>/frame/", views_forms.public_frame, name="frame"),
    path("w2l/", views_forms.web_to_lead, name="w2l"),
    path("capture/forms/", views_forms.form_list, name="list"),
    path("capture/forms/new/", views_forms.form_create, name="create"),
    path("capture/forms/<int:form_id>/", views_forms.form_edit, name="edit"),
    path("capture/forms/<int:form_id>/preview/", views_forms.form_preview, name="preview"),
    path("capture/forms/<int:form_id>/embed/", views_forms.form_embed, name="embed"),
]
