from django.urls import URLPattern, URLResolver, path

from embudo.predictive import views

app_name = "predictive"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.home, name="home"),
    path("train/", views.train, name="train"),
    path("import/", views.import_outcomes, name="import"),
    path("import/delete/", views.delete_import, name="delete_import"),
    path("leads/<int:lead_id>/", views.lead_prediction, name="lead_prediction"),
]
