from django.urls import path

from embudo.routing import views

app_name = "routing"
urlpatterns = [
    path("", views.home, name="home"),
    path("rule-sets/new/", views.rule_set_create, name="rule_set_create"),
    path("rule-sets/<int:rule_set_id>/", views.rule_set_detail, name="rule_set"),
    path("rule-sets/<int:rule_set_id>/settings/", views.rule_set_settings, name="rule_set_settings"),
    path("rule-sets/<int:rule_set_id>/rules/", views.rule_change, name="rule_change"),
    path("rule-sets/<int:rule_set_id>/rules/new/", views.rule_form, name="rule_new"),
    path("rule-sets/<int:rule_set_id>/rules/<int:index>/edit/", views.rule_form, name="rule_edit"),
    path("rule-sets/<int:rule_set_id>/preview/", views.rule_set_preview, name="preview"),
    path("rule-sets/<int:rule_set_id>/publish/", views.rule_set_publish, name="publish"),
    path("rule-sets/<int:rule_set_id>/copy/", views.rule_set_copy, name="copy"),
    path("rule-sets/<int:rule_set_id>/delete/", views.rule_set_delete, name="delete"),
    path("pools/", views.pools, name="pools"),
    path("pools/<int:pool_id>/", views.pool_detail, name="pool"),
    path("pools/<int:pool_id>/delete/", views.pool_delete, name="pool_delete"),
    path("reps/", views.reps, name="reps"),
    path("reps/<int:user_id>/", views.rep_detail, name="rep"),
    path("leads/<int:lead_id>/panel/", views.lead_panel, name="lead_panel"),
]
