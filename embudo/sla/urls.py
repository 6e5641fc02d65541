from django.urls import path

from embudo.sla import views

app_name = "sla"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("policies/", views.policies, name="policies"),
    path("policies/new/", views.policy_create, name="policy_create"),
    path("policies/<int:policy_id>/", views.policy_edit, name="policy_edit"),
    path("policies/<int:policy_id>/delete/", views.policy_delete, name="policy_delete"),
    path("holidays/<int:holiday_id>/delete/", views.holiday_delete, name="holiday_delete"),
]
