from django.urls import path

from embudo.pipeline import views

app_name = "pipeline"
urlpatterns = [
    path("", views.board, name="board"),
    path("columns/<int:stage_id>/", views.column, name="column"),
    path("<int:lead_id>/move/", views.move, name="move"),
    path("stages/", views.stages, name="stages"),
    path("leads/<int:lead_id>/panel/", views.lead_panel, name="lead_panel"),
]
