from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

# `email__lower=value` compiles to LOWER(email) = value, which the lead_email_lower_uniq index serves
# (`email__iexact` compiles to UPPER(...) and would scan the table).
models.CharField.register_lookup(Lower)


class SearchFold(models.Func):
    """``embudo_search_fold(text)``: accents removed as ``leads.domain.fold_for_search`` does (an
    IMMUTABLE SQL function created by migration 0006, so a generated column may use it)."""

    function = "embudo_search_fold"
    output_field = models.TextField()


SEARCH_TEXT_COLUMNS = ("first_name", "last_name", "email", "company_name", "phone")
# A lead with either is no longer worked (Lead.is_open): routing's capacity and the inbox count the others.
CLOSED_STATUSES = ("converted", "disqualified")
CLOSED_STAGES = ("customer", "disqualified")


class LeadSearchText(models.Func):
    """``embudo_lead_search_text(first_name, last_name, email, company_name, phone)``: the folded haystack of
    ``Lead.search_text`` (an IMMUTABLE SQL function created by migration 0010, inlined where it is computed).

    Why a function rather than the expression itself: PostgreSQL 18 re-reads a stored generated column's
    expression tree for every row an UPDATE writes, even when the update does not touch its columns (a score
    or owner change). The expression Django spells out for ``SearchFold(Lower(Concat(Coalesce…)))`` took
    ~11 µs a row to parse; a call with five columns takes ~1 µs (measured on 100-row updates)."""

    function = "embudo_lead_search_text"
    output_field = models.TextField()


class LeadIsOpen(models.Func):
    """``embudo_lead_is_open(status, lifecycle_stage)``: neither a closed status nor a closed stage (an IMMUTABLE
    SQL function created by migration 0011). A call, not the expression, for the reason given on
    :class:`LeadSearchText`: the expression's tree (two ``NOT IN`` lists) is re-read for every updated row."""

    function = "embudo_lead_is_open"
    output_field = models.BooleanField()


class LifecycleStage(models.TextChoices):
    SUBSCRIBER = "subscriber", _("Subscriber")
    LEAD = "lead", _("Lead")
    MQL = "mql", _("Marketing qualified")
    SQL = "sql", _("Sales qualified")
    OPPORTUNITY = "opportunity", _("Opportunity")
    CUSTOMER = "customer", _("Customer")
    PQL = "pql", _("Product qualified")
    DISQUALIFIED = "disqualified", _("Disqualified")


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    WORKING = "working", _("Working")
    NURTURING = "nurturing", _("Nurturing")
    QUALIFIED = "qualified", _("Qualified")
    DISQUALIFIED = "disqualified", _("Disqualified")
    CONVERTED = "converted", _("Converted")


class Grade(models.TextChoices):
    COLD = "cold", _("Cold")
    WARM = "warm", _("Warm")
    HOT = "hot", _("Hot")


class Outcome(models.TextChoices):
    """How a lead ended: the label predictive scoring learns from."""

    OPEN = "", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class CompanySize(models.TextChoices):
    S1_10 = "1-10", "1-10"
    S11_50 = "11-50", "11-50"
    S51_200 = "51-200", "51-200"
    S201_500 = "201-500", "201-500"
    S501_1000 = "501-1000", "501-1000"
    S1000_PLUS = "1000+", "1000+"


class Company(models.Model):
    name = models.CharField(_("name"), max_length=200)
    domain = models.CharField(_("domain"), max_length=253, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    size = models.CharField(_("size"), max_length=10, choices=CompanySize.choices, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    lead_count = models.PositiveIntegerField(default=0)
    last_lead_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "companies"
        constraints = [
            models.UniqueConstraint(fields=["domain"], condition=~Q(domain=""), name="company_domain_uniq"),
        ]
        indexes = [
            GinIndex(fields=["name"], opclasses=["gin_trgm_ops"], name="company_name_trgm"),
        ]

    def __str__(self) -> str:
        return self.name


class Lead(models.Model):
    """A person who may buy. One record per person; the timeline is ``core.DomainEvent`` by ``lead_id``."""

    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    email = models.CharField(_("email"), max_length=254, blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    job_title = models.CharField(_("job title"), max_length=150, blank=True)
    company = models.ForeignKey(
        Company, on_delete=models.SET_NULL, null=True, blank=True, related_name="leads", verbose_name=_("company")
    )
    # What the person wrote as their company; ``company`` is the matched organisation.
    company_name = models.CharField(_("company name"), max_length=200, blank=True)
    street_address = models.CharField(_("street address"), max_length=200, blank=True)
    address_line2 = models.CharField(_("address line 2"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    language = models.CharField(_("language"), max_length=5, blank=True)
    # db_default: bulk paths (COPY, INSERT … SELECT) may omit these columns.
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True, default="", db_default="")
    # business / free / disposable, from the email's domain (offline lists).
    email_domain_kind = models.CharField(_("email domain kind"), max_length=12, blank=True, default="", db_default="")
    source = models.CharField(_("source"), max_length=64, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_leads",
        verbose_name=_("owner"),
        db_index=False,  # covered by lead_owner_created_idx
    )
    team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="leads",
        verbose_name=_("team"),
        db_index=False,  # covered by lead_team_created_idx
    )
    lifecycle_stage = models.CharField(
        _("lifecycle stage"), max_length=20, choices=LifecycleStage.choices, default=LifecycleStage.LEAD
    )
    status = models.CharField(_("status"), max_length=20, choices=LeadStatus.choices, default=LeadStatus.NEW)
    score = models.IntegerField(_("score"), default=0)
    grade = models.CharField(_("grade"), max_length=10, choices=Grade.choices, default=Grade.COLD)
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True)
    # BANT qualification, edited by reps; all four known → the lead can become an SQL.
    bant_budget = models.CharField(_("budget"), max_length=200, blank=True, default="", db_default="")
    bant_authority = models.CharField(_("authority"), max_length=200, blank=True, default="", db_default="")
    bant_need = models.CharField(_("need"), max_length=200, blank=True, default="", db_default="")
    bant_timing = models.CharField(_("timing"), max_length=200, blank=True, default="", db_default="")
    # Why the lead was disqualified (lifecycle "disqualified") or lost (outcome "lost").
    lifecycle_reason = models.CharField(_("reason"), max_length=200, blank=True, default="", db_default="")
    lifecycle_changed_at = models.DateTimeField(_("lifecycle changed"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=Outcome.choices, blank=True, default="", db_default=""
    )
    outcome_reason = models.CharField(_("outcome reason"), max_length=200, blank=True, default="", db_default="")
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), db_index=False)
    updated_at = models.DateTimeField(_("updated"))
    # Folded haystack for substring search (GIN trigram index): name, email, company, phone, lower case
    # and without accents, so "garcia" finds "García" (queries fold the same way: domain.search_terms).
    search_text = models.GeneratedField(
        expression=LeadSearchText(*SEARCH_TEXT_COLUMNS),
        output_field=models.TextField(),
        db_persist=True,
    )
    # Still being worked: not converted or disqualified, not a customer or disqualified in its lifecycle. The
    # open-lead indexes name this column alone: an index predicate naming status or lifecycle_stage made every
    # stage move and status change a non-HOT update (a new entry in all eleven indexes, the trigram one too);
    # now only a move that opens or closes the lead is.
    is_open = models.GeneratedField(
        expression=LeadIsOpen("status", "lifecycle_stage"),
        output_field=models.BooleanField(),
        db_persist=True,
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), condition=~Q(email=""), name="lead_email_lower_uniq"),
            models.CheckConstraint(condition=Q(score__gte=-1000) & Q(score__lte=1000), name="lead_score_range"),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="lead_created_idx"),
            models.Index(fields=["owner", "-created_at", "-id"], name="lead_owner_created_idx"),
            models.Index(fields=["team", "-created_at", "-id"], name="lead_team_created_idx"),
            models.Index(
                fields=["team", "-created_at", "-id"],
                condition=Q(owner__isnull=True),
                name="lead_team_unassigned_idx",
            ),
            # No index on score here: see LeadScoreRank.
            models.Index(fields=["phone"], condition=~Q(phone=""), name="lead_phone_idx"),
            # Routing's capacity check: open leads per owner, as an index-only scan.
            models.Index(
                fields=["owner"],
                condition=Q(is_open=True),
                name="lead_owner_open_idx",
            ),
            # Training data for predictive scoring: the (few) leads with a known outcome.
            models.Index(fields=["closed_at"], condition=~Q(outcome=""), name="lead_outcome_idx"),
            GinIndex(fields=["search_text"], opclasses=["gin_trgm_ops"], name="lead_search_trgm"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or f"Lead #{self.pk}"

    @property
    def bant_known(self) -> int:
        """How many of budget, authority, need and timing are known (0-4)."""
        return sum(1 for v in (self.bant_budget, self.bant_authority, self.bant_need, self.bant_timing) if v)

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)


class LeadScoreRank(models.Model):
    """The "highest score first" sort key of the lead list, one row per lead, kept apart from ``leads_lead``.

    Why a table of its own: a score change is the most frequent write to a lead (every tracked event
    rescores it). With ``score`` indexed on ``leads_lead`` that update could never be HOT, so each one
    inserted new entries into all of the table's dozen indexes, the trigram GIN included (a 1.8 s pending
    list flush now and then) and wrote their full-page images to the WAL. Unindexed there, the update stays
    on its heap page (``fillfactor`` leaves room), and only this two-column table's index moves.

    Kept in step by triggers on ``leads_lead`` (migrations 0007 to 0009), so that every writer of a lead,
    whatever its path (ORM, raw SQL, COPY of the import), keeps it right without knowing it exists: statement
    triggers on insert and delete (set-based from the transition tables) and a row trigger on a score change.
    That one costs ~100 µs per row, so the scoring engine's bulk statements write the rank rows themselves and
    switch it off for their own rows (``embudo.score_rank_written``, see ``scoring.services``).
    """

    lead = models.OneToOneField(
        Lead, primary_key=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="score_rank"
    )
    score = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=["-score", "-lead"], name="lead_rank_score_idx")]

    def __str__(self) -> str:
        return f"{self.lead_id}: {self.score}"


class OwnerLoad(models.Model):
    """How many open leads (``Lead.is_open``) each user owns, kept exact by triggers on ``leads_lead``.

    Why: routing checks every candidate's capacity (and least-loaded pools compare loads) at every pick, under
    the pool's row lock. Counting the leads there cost O(open leads) per member: a pool of 10 reps with ~265
    open leads each read 4,373 heap tuples, 5.6 ms of PostgreSQL per pick, growing with the reps' load.
    This row answers in one index lookup.

    Storage, not business logic (see ARCHITECTURE, like :class:`LeadScoreRank`): every writer of a lead keeps it
    right without knowing it exists, whatever its path (ORM, raw SQL, COPY of the import; migration 0012):
    statement triggers on insert and delete (set-based from the transition tables), a row trigger when an
    update changes a lead's owner or opens/closes it, and a truncate trigger. Writers that switch triggers off
    (``session_replication_role = replica``, the benchmark seed) call ``leads.services.rebuild_owner_loads``.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        primary_key=True,
        on_delete=models.CASCADE,
        db_constraint=False,  # written by triggers for owners that exist (leads_lead.owner_id has the constraint)
        related_name="lead_load",
    )
    open_leads = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.open_leads}"


class CompanyStatsPending(models.Model):
    """A company whose ``lead_count`` and ``last_lead_at`` must be recounted: one append-only row per company
    touched by a statement on ``leads_lead``, written by triggers (migration 0013).

    Why not a job per captured lead: each recounted every lead of the company (O(company leads) on the worker
    for every lead; a customer domain with 100k leads would cost ~50 ms per captured lead), and cost the intake
    transaction a job row, its procrastinate event and NOTIFY. Why not an increment in the trigger: every lead
    of one company would then wait for the company row's lock until the previous capture commits.
    Appending takes no lock, and ``leads.services.drain_company_stats`` (a periodic job, every few seconds)
    recounts each pending company once, however many leads it received meanwhile.

    Storage, like :class:`OwnerLoad`: every writer (ORM, raw SQL, the import's bulk statements, deletions,
    merges) is covered without knowing it exists.
    """

    id = models.BigAutoField(primary_key=True)
    # No foreign key: a deleted company's rows are harmless (the recount updates nothing) and must not block it.
    company_id = models.BigIntegerField()

    def __str__(self) -> str:
        return str(self.company_id)
