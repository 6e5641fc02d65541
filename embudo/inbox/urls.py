from django.urls import path

from embudo.inbox import views

app_name = "inbox"
urlpatterns = [
    path("", views.home, name="home"),
    path("leads/<int:lead_id>/snooze/", views.snooze, name="snooze"),
    path("leads/<int:lead_id>/unsnooze/", views.unsnooze, name="unsnooze"),
    path("leads/<int:lead_id>/disqualify/", views.disqualify, name="disqualify"),
    path("views/", views.save_view, name="save_view"),
    path("views/<int:view_id>/delete/", views.delete_view, name="delete_view"),
    path("team/", views.team, name="team"),
    path("team/workload/", views.team_workload, name="team_workload"),
    path("team/reassign/", views.reassign, name="reassign"),
]
