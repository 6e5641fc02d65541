from django.urls import path

from embudo.followups import views

app_name = "followups"
urlpatterns = [
    path("", views.my_day, name="my_day"),
    path("leads/<int:lead_id>/panel/", views.lead_panel, name="lead_panel"),
    path("<int:task_id>/complete/", views.complete, name="complete"),
    path("<int:task_id>/reopen/", views.reopen, name="reopen"),
    path("<int:task_id>/snooze/", views.snooze, name="snooze"),
    path("<int:task_id>/delete/", views.delete, name="delete"),
    path("rules/", views.rules, name="rules"),
    path("rules/new/", views.rule_create, name="rule_create"),
    path("rules/<int:rule_id>/", views.rule_edit, name="rule_edit"),
    path("rules/<int:rule_id>/active/", views.rule_toggle, name="rule_toggle"),
]
