"""Capture: every inbound submission is stored raw, first, then processed into a lead."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    API = "api", _("API")
    FORM = "form", _("Web form")
    W2L = "w2l", _("Web-to-Lead")
    WHATSAPP = "whatsapp", _("WhatsApp")
    EMAIL = "email", _("Email")
    IMPORT = "import", _("CSV import")


class SubmissionStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PROCESSED = "processed", _("Processed")
    REJECTED = "rejected", _("Rejected")
    QUARANTINED = "quarantined", _("Quarantined")
    FAILED = "failed", _("Failed")


class Outcome(models.TextChoices):
    CREATED = "created", _("Created a lead")
    MERGED = "merged", _("Merged into a lead")


class Submission(models.Model):
    """The raw input of one capture, kept whatever happens to its processing.

    ``received = created + merged + rejected + quarantined + pending/failed``: the reconciliation
    report proves that no submission disappeared.
    """

    id = models.BigAutoField(primary_key=True)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    received_at = models.DateTimeField()
    payload = models.JSONField(default=dict)
    headers = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True)
    # Client-chosen key (API Idempotency-Key); the same key returns the first response.
    idempotency_key = models.CharField(max_length=200, blank=True)
    # Provider's id of the message (WhatsApp wamid, email Message-ID): replays are ignored.
    external_id = models.CharField(max_length=300, blank=True)
    form_id = models.BigIntegerField(null=True, blank=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    # How to process it, fixed at receipt so a replay does the same: default region, team, owner,
    # language, consent text, quarantine reason (see capture.services.ProcessingContext).
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=SubmissionStatus.choices, default=SubmissionStatus.PENDING)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    lead_id = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=64, blank=True)
    errors = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "idempotency_key"], condition=~Q(idempotency_key=""), name="submission_idem_uniq"
            ),
            models.UniqueConstraint(
                fields=["channel", "external_id"], condition=~Q(external_id=""), name="submission_external_uniq"
            ),
        ]
        indexes = [
            models.Index(fields=["received_at"], name="submission_received_idx"),
            models.Index(
                fields=["status", "received_at"],
                condition=Q(status__in=["pending", "failed"]),
                name="submission_open_idx",
            ),
            models.Index(fields=["lead_id"], name="submission_lead_idx"),
            # Per-IP rate limits of public forms. Only form submissions: the other channels (API, imports,
            # webhooks) have no form, and a million-row import would add a million entries nothing reads.
            models.Index(
                fields=["form_id", "ip", "-received_at"],
                condition=Q(form_id__isnull=False),
                name="submission_form_ip_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} submission #{self.pk} ({self.status})"


class ConsentRecord(models.Model):
    """Append-only proof of consent (GDPR art. 7(1)): what text, which version, when, from where."""

    id = models.BigAutoField(primary_key=True)
    lead_id = models.BigIntegerField()
    submission = models.ForeignKey(Submission, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    purpose = models.CharField(max_length=40)  # e.g. marketing_email, whatsapp, processing
    channel = models.CharField(max_length=16, choices=Channel.choices)
    granted = models.BooleanField(default=True)
    text = models.TextField(blank=True)
    text_version = models.CharField(max_length=40, blank=True)
    text_hash = models.CharField(max_length=64, blank=True)
    language = models.CharField(max_length=5, blank=True)
    form_id = models.BigIntegerField(null=True, blank=True)
    page_url = models.TextField(blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.TextField(blank=True)
    lawful_basis = models.CharField(max_length=40, default="consent")
    recorded_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["lead_id", "purpose", "-recorded_at"], name="consent_lead_idx")]

    def __str__(self) -> str:
        return f"consent {self.purpose} for lead {self.lead_id}"


class LeadAttribution(models.Model):
    """First and last touch of a lead: source, UTM, referrer, landing page."""

    lead_id = models.BigIntegerField(primary_key=True)
    first_channel = models.CharField(max_length=16, blank=True)
    first_source = models.CharField(max_length=200, blank=True)
    first_medium = models.CharField(max_length=200, blank=True)
    first_campaign = models.CharField(max_length=200, blank=True)
    first_term = models.CharField(max_length=200, blank=True)
    first_content = models.CharField(max_length=200, blank=True)
    first_referrer = models.TextField(blank=True)
    first_landing_page = models.TextField(blank=True)
    first_at = models.DateTimeField()
    last_channel = models.CharField(max_length=16, blank=True)
    last_source = models.CharField(max_length=200, blank=True)
    last_medium = models.CharField(max_length=200, blank=True)
    last_campaign = models.CharField(max_length=200, blank=True)
    last_term = models.CharField(max_length=200, blank=True)
    last_content = models.CharField(max_length=200, blank=True)
    last_referrer = models.TextField(blank=True)
    last_landing_page = models.TextField(blank=True)
    last_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"attribution of lead {self.lead_id}"


class Form(models.Model):
    """A capture form: hosted at /f/<slug>/, embeddable on any site, built in the UI.

    ``fields`` is a list of ``{"name", "type", "required", "label_en", "label_es", "options", "maps_to"}``;
    ``maps_to`` is a lead field (``email``, ``phone``…) or ``custom:<key>``.
    """

    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    team = models.ForeignKey("accounts.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    fields = models.JSONField(_("fields"), default=list)
    default_language = models.CharField(_("default language"), max_length=5, default="en")
    default_region = models.CharField(_("default country for phone numbers"), max_length=2, blank=True)
    source = models.CharField(_("source"), max_length=64, blank=True)
    consent_required = models.BooleanField(_("consent required"), default=True)
    consent_purpose = models.CharField(_("consent purpose"), max_length=40, default="marketing_email")
    consent_text_en = models.TextField(_("consent text (English)"), blank=True)
    consent_text_es = models.TextField(_("consent text (Spanish)"), blank=True)
    consent_version = models.CharField(_("consent text version"), max_length=40, default="1")
    thank_you_en = models.TextField(_("thank-you message (English)"), blank=True)
    thank_you_es = models.TextField(_("thank-you message (Spanish)"), blank=True)
    redirect_url = models.URLField(_("redirect after submit"), max_length=500, blank=True)
    # Hosts allowed for redirect_url and for embedding (CORS origins); one per line.
    allowed_hosts = models.TextField(_("allowed hosts"), blank=True)
    double_opt_in = models.BooleanField(_("double opt-in by email"), default=False)
    progressive_profiling = models.BooleanField(_("progressive profiling"), default=True)
    min_fill_seconds = models.PositiveIntegerField(_("minimum fill time (seconds)"), default=3)
    max_per_ip_per_hour = models.PositiveIntegerField(_("submissions per IP per hour"), default=20)
    max_per_hour = models.PositiveIntegerField(_("submissions per hour (whole form)"), default=5000)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class FieldMapping(models.Model):
    """A saved CSV column mapping, per source, reused by the next import from that source."""

    source = models.CharField(max_length=64, unique=True)
    mapping = models.JSONField(default=dict)  # csv column -> lead field or custom:<key>
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"mapping for {self.source}"


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImportJob(models.Model):
    """One CSV file imported through the bulk path; rows become ``Submission`` rows (channel import)."""

    id = models.BigAutoField(primary_key=True)
    created_by_id = models.BigIntegerField(null=True, blank=True)
    source = models.CharField(max_length=64, blank=True)
    file_name = models.CharField(max_length=255)
    file_path = models.CharField(max_length=500)
    file_sha256 = models.CharField(max_length=64, blank=True)
    mapping = models.JSONField(default=dict)
    default_region = models.CharField(max_length=2, blank=True)
    team_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    merged_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    # The second checkpoint: the timeline (LeadCreated / LeadCaptured events) of the job's submissions is
    # written up to this submission id, by a transaction of its own that runs beside the next batch.
    timeline_through_submission_id = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"import {self.file_name} ({self.status})"


class WhatsAppChannel(models.Model):
    """A WhatsApp Business number whose webhook posts to /hooks/whatsapp/. The default one comes from
    WHATSAPP_VERIFY_TOKEN / WHATSAPP_APP_SECRET; more can be added in the UI."""

    name = models.CharField(_("name"), max_length=120)
    phone_number_id = models.CharField(_("phone number id"), max_length=64, unique=True)
    display_phone = models.CharField(_("display phone"), max_length=32, blank=True)
    verify_token = models.CharField(_("verify token"), max_length=200)
    app_secret = models.CharField(_("app secret"), max_length=200)
    team = models.ForeignKey("accounts.Team", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    default_region = models.CharField(_("default country"), max_length=2, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name
