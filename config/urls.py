from django.urls import include, path
from django.views.generic import RedirectView

from config import api as api_module
from config.api import api
from embudo.core import views as core_views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="inbox:home", permanent=False)),
    path("healthz", core_views.healthz, name="healthz"),
    path("api/v1/", api.urls),
    path("api/v1/<path:path>", api_module.unknown_endpoint),
    path("accounts/", include("embudo.accounts.urls")),
    path("leads/", include("embudo.leads.urls")),
    path("duplicates/", include("embudo.dedupe.urls")),
    path("scoring/predictive/", include("embudo.predictive.urls")),
    path("scoring/", include("embudo.scoring.urls")),
    path("sla/", include("embudo.sla.urls")),
    path("routing/", include("embudo.routing.urls")),
    path("inbox/", include("embudo.inbox.urls")),
    path("pipeline/", include("embudo.pipeline.urls")),
    path("tasks/", include("embudo.followups.urls")),
    path("interactions/", include("embudo.interactions.urls")),
    path("notifications/", include("embudo.notifications.urls")),
    path("t/", include("embudo.tracking.urls")),
    path("capture/imports/", include("embudo.capture.urls_import")),
    path("capture/", include("embudo.capture.urls_ops")),
    path("", include("embudo.capture.urls_forms")),
    path("hooks/anymail/", include("anymail.urls")),
    path("hooks/", include("embudo.capture.urls_hooks")),
]
