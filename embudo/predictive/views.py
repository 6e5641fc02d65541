"""The predictive scoring page (model quality, calibration, importances, the data gate, "Train now"),
the outcome import page and the lead's prediction fragment."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from embudo.accounts.models import User
from embudo.leads import selectors as lead_selectors
from embudo.predictive import exceptions, selectors, services
from embudo.predictive.labels import feature_label

CHART = 240  # calibration chart size in px (square)
PAD = 30


def _user(request: HttpRequest) -> User:
    user: User = request.user  # type: ignore[assignment]
    return user


def calibration_chart(bins: list[dict[str, Any]]) -> dict[str, Any]:
    """Coordinates of predicted (x) vs observed (y) per bin for a server-rendered SVG."""
    inner = CHART - 2 * PAD
    total = sum(int(b["count"]) for b in bins) or 1
    points = []
    for b in bins:
        x = PAD + float(b["predicted"]) * inner
        y = PAD + (1 - float(b["observed"])) * inner
        radius = 3 + 9 * (int(b["count"]) / total) ** 0.5
        points.append({**b, "x": round(x, 1), "y": round(y, 1), "r": round(radius, 1),
                       "predicted_pct": round(100 * float(b["predicted"]), 1),
                       "observed_pct": round(100 * float(b["observed"]), 1)})  # fmt: skip
    line = " ".join(f"{p['x']},{p['y']}" for p in points)
    return {"size": CHART, "pad": PAD, "end": CHART - PAD, "mid": CHART / 2, "points": points, "line": line}


def _importances(importances: dict[str, float], limit: int = 12) -> list[dict[str, Any]]:
    top = list(importances.items())[:limit]
    biggest = max((v for _, v in top), default=0.0) or 1.0
    return [{"name": k, "label": feature_label(k), "value": v, "percent": round(100 * v / biggest)} for k, v in top]


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not services.can_view_model(user):
        raise PermissionDenied
    model = selectors.get_active_model()
    gate = selectors.gate()
    context = {
        "model": model,
        "gate": gate,
        "gate_message": services.gate_message(gate),
        "chart": calibration_chart(model.calibration) if model else None,
        "importances": _importances(model.importances) if model else [],
        "imports": selectors.count_imported(),
        "history": selectors.list_models(),
        "can_train": services.can_train(user),
    }
    return render(request, "predictive/home.html", context)


@login_required
@require_POST
def train(request: HttpRequest) -> HttpResponse:
    try:
        queued = services.request_training(actor=_user(request))
    except exceptions.NotAllowed as exc:
        raise PermissionDenied(exc.message) from exc
    if queued:
        messages.success(request, _("Training queued: the new model will appear here in a few minutes."))
    else:
        messages.warning(request, _("A training run is already queued."))
    return redirect("predictive:home")


class OutcomeImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV file"), help_text=gettext_lazy("UTF-8, first row = column names."))
    target = forms.CharField(
        label=gettext_lazy("Outcome column"), max_length=200,
        help_text=gettext_lazy("The column that says whether the lead was won, e.g. Stage or Won."),
    )  # fmt: skip
    positive = forms.CharField(
        label=gettext_lazy("Value meaning won"), max_length=200, required=False,
        help_text=gettext_lazy("e.g. Won. Leave empty for yes / won / true / 1."),
    )  # fmt: skip
    mapping = forms.CharField(
        label=gettext_lazy("Column mapping"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Optional, one per line: CSV column=lead feature (country, source, seniority, "
                               "company_industry, company_size…)."),
    )  # fmt: skip

    def clean_mapping(self) -> dict[str, str]:
        mapping: dict[str, str] = {}
        for line in self.cleaned_data["mapping"].splitlines():
            if not line.strip():
                continue
            column, sep, feature = line.partition("=")
            if not sep or not column.strip() or not feature.strip():
                raise forms.ValidationError(_("Write each mapping as column=feature."))
            mapping[column.strip()] = feature.strip()
        return mapping


@login_required
def import_outcomes(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not services.can_train(user):
        raise PermissionDenied
    form = OutcomeImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            form.add_error("file", _("The file is not UTF-8 text."))
        else:
            try:
                result = services.import_outcomes(
                    lines=text.splitlines(keepends=True), source_file=upload.name, target=form.cleaned_data["target"],
                    positive=form.cleaned_data["positive"] or None, mapping=form.cleaned_data["mapping"],
                    actor_id=user.pk,
                )  # fmt: skip
            except exceptions.InvalidOutcomeFile as exc:
                form.add_error("file", exc.message)
            else:
                messages.success(
                    request,
                    _("Imported %(rows)s outcomes (%(won)s won) from %(file)s.")
                    % {"rows": result.rows, "won": result.won, "file": result.source_file},
                )
                if result.personal_columns:
                    messages.info(
                        request,
                        _("Not stored, as personal data not needed to learn: %(columns)s.")
                        % {"columns": ", ".join(result.personal_columns)},
                    )
                return redirect("predictive:home")
    return render(request, "predictive/import.html", {"form": form, "imports": selectors.count_imported()})


@login_required
@require_POST
def delete_import(request: HttpRequest) -> HttpResponse:
    if not services.can_train(_user(request)):
        raise PermissionDenied
    deleted = services.delete_imported(source_file=request.POST.get("source_file", ""))
    messages.success(request, _("Deleted %(rows)s imported outcomes.") % {"rows": deleted})
    return redirect("predictive:home")


@login_required
def lead_prediction(request: HttpRequest, lead_id: int) -> HttpResponse:
    """The lead's conversion probability as an htmx fragment (for the lead page's scoring panel)."""
    if lead_selectors.get_lead_visible_to(_user(request), lead_id) is None:
        raise Http404
    return render(request, "predictive/_lead_prediction.html", selectors.prediction_display(lead_id))
