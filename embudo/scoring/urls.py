from django.urls import path

from embudo.scoring import views

app_name = "scoring"
urlpatterns = [
    path("", views.home, name="home"),
    path("drafts/new/", views.new_draft, name="new_draft"),
    path("versions/<int:version_id>/", views.version_detail, name="version"),
    path("versions/<int:version_id>/settings/", views.save_settings, name="settings"),
    path("versions/<int:version_id>/rules/new/", views.rule_new, name="rule_new"),
    path("versions/<int:version_id>/rules/<uuid:rule_key>/", views.rule_row, name="rule_row"),
    path("versions/<int:version_id>/rules/<uuid:rule_key>/edit/", views.rule_edit, name="rule_edit"),
    path("versions/<int:version_id>/rules/<uuid:rule_key>/delete/", views.rule_delete, name="rule_delete"),
    path("versions/<int:version_id>/backtest/", views.backtest, name="backtest"),
    path("backtests/<int:backtest_id>/", views.backtest_status, name="backtest_status"),
    path("versions/<int:version_id>/publish/", views.publish, name="publish"),
    path("versions/<int:version_id>/progress/", views.progress, name="progress"),
    path("leads/<int:lead_id>/panel/", views.lead_panel, name="lead_panel"),
    path("leads/<int:lead_id>/stage/", views.lead_stage, name="lead_stage"),
    path("leads/<int:lead_id>/bant/", views.lead_bant, name="lead_bant"),
    path("leads/<int:lead_id>/ledger/", views.lead_ledger, name="lead_ledger"),
]
