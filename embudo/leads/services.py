"""Writes of the leads context. Every write validates first, stores nothing on error, and
publishes an event in the same transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, connections, router, transaction
from django.db.models.sql import InsertQuery

from embudo.accounts import selectors as accounts_selectors
from embudo.accounts.models import Team, User
from embudo.core import clock
from embudo.core import events as core_events
from embudo.core.sqlparams import jsonb_array
from embudo.dedupe import services as dedupe_services
from embudo.leads import domain, selectors
from embudo.leads.events import LeadCreated, LeadUpdated, NoteAdded
from embudo.leads.exceptions import DuplicateLead, InvalidLead, LeadNotFound, OwnerNotAllowed
from embudo.leads.models import Company, Lead

EDITABLE_FIELDS = (*domain.TEXT_FIELDS, "lifecycle_stage", "status", "custom_fields", "owner_id", "team_id")


def _raise_if_errors(errors: domain.FieldErrors) -> None:
    if errors:
        raise InvalidLead(
            "Some fields are not valid.", fields={field: list(messages) for field, messages in errors.errors.items()}
        )


def _check_owner_and_team(actor: User, values: dict[str, Any]) -> None:
    owner_id = values.get("owner_id")
    team_id = values.get("team_id")
    field_errors: dict[str, list[str]] = {}
    if owner_id is not None and not User.objects.filter(pk=owner_id, is_active=True).exists():
        field_errors["owner_id"] = ["Unknown or inactive user."]
    if team_id is not None and not Team.objects.filter(pk=team_id).exists():
        field_errors["team_id"] = ["Unknown team."]
    if field_errors:
        raise InvalidLead("Some fields are not valid.", fields=field_errors)
    if actor.role == "sales_rep":
        if owner_id is not None and owner_id != actor.pk:
            raise OwnerNotAllowed(
                "Sales reps can only assign leads to themselves.", fields={"owner_id": ["Not allowed."]}
            )
        if team_id is not None and team_id not in accounts_selectors.team_ids_of(actor):
            raise OwnerNotAllowed("Sales reps can only use their own teams.", fields={"team_id": ["Not allowed."]})


def _existing_by_email(email: str) -> Lead | None:
    # The unique index is partial (email <> ''): repeat its predicate so PostgreSQL can use it.
    return Lead.objects.filter(email__lower=email.lower()).exclude(email="").only("id").first() if email else None


def _duplicate(existing: Lead) -> DuplicateLead:
    return DuplicateLead(
        "A lead with this email already exists.",
        existing_lead_id=existing.pk,
        fields={"email": ["A lead with this email already exists."]},
    )


def _public_fields(lead: Lead) -> dict[str, Any]:
    return {field: getattr(lead, field) for field in EDITABLE_FIELDS}


@transaction.atomic
def create_lead(*, actor: User | None, data: Mapping[str, Any], channel: str = "manual") -> Lead:
    """Create a lead from already-parsed input.

    Invariants: valid fields only (else ``InvalidLead``, nothing stored); one lead per email
    (``DuplicateLead`` with the existing id); a rep creating a lead owns it.
    """
    values, errors = domain.clean_lead_fields({k: v for k, v in data.items() if k in EDITABLE_FIELDS})
    _raise_if_errors(errors)
    if not domain.has_identity(values):
        raise InvalidLead(
            "A lead needs an email, a phone or a name.",
            fields={"email": ["Give an email, a phone or a name."]},
        )
    if actor is not None:
        # Reps own what they create; reps and managers file it under their (first) team, so
        # the lead stays visible to them.
        # An empty owner from a form means "the default": a rep's new lead is theirs.
        if actor.role == "sales_rep" and values.get("owner_id") is None:
            values["owner_id"] = actor.pk
        if actor.role in ("sales_rep", "manager") and values.get("team_id") is None:
            team_ids = accounts_selectors.team_ids_of(actor)
            if team_ids:
                values["team_id"] = team_ids[0]
        _check_owner_and_team(actor, values)
    existing = _existing_by_email(values.get("email", ""))
    if existing is not None:
        raise _duplicate(existing)
    now = clock.now()
    values.setdefault("source", channel)
    try:
        with transaction.atomic():
            lead = Lead.objects.create(created_at=now, updated_at=now, **values)
            dedupe_services.index_lead(lead=lead, new=True)
    except IntegrityError as exc:
        # A concurrent request stored the same email between our check and the insert.
        existing = _existing_by_email(values.get("email", ""))
        if existing is None:
            raise
        raise _duplicate(existing) from exc
    core_events.publish(
        LeadCreated(
            lead_id=lead.pk,
            actor_id=actor.pk if actor else None,
            source=lead.source,
            channel=channel,
            fields={k: v for k, v in values.items() if k in domain.TEXT_FIELDS and v},
            company_id=lead.company_id,
        ),
        occurred_at=now,
    )
    return lead


@transaction.atomic
def update_lead(*, actor: User, lead_id: int, changes: Mapping[str, Any]) -> Lead:
    """Apply a partial update to a lead the actor can see; records who changed what."""
    lead = selectors.leads_visible_to(actor).select_for_update(of=("self",)).filter(pk=lead_id).first()
    if lead is None:
        raise LeadNotFound("Lead not found.")
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise InvalidLead("Unknown fields.", fields={field: ["Unknown field."] for field in unknown})
    values, errors = domain.clean_lead_fields(changes)
    _raise_if_errors(errors)
    _check_owner_and_team(actor, {k: v for k, v in values.items() if k in ("owner_id", "team_id")})
    if values.get("email") and values["email"].lower() != lead.email.lower():
        existing = _existing_by_email(values["email"])
        if existing is not None and existing.pk != lead.pk:
            raise _duplicate(existing)
    diff = domain.changed_fields(_public_fields(lead), values)
    if not diff:
        return lead
    after = {**_public_fields(lead), **values}
    if not domain.has_identity(after):
        raise InvalidLead("A lead needs an email, a phone or a name.", fields={"email": ["Required."]})
    for field, value in values.items():
        setattr(lead, field, value)
    lead.updated_at = clock.now()
    try:
        with transaction.atomic():
            lead.save(update_fields=[*diff.keys(), "updated_at"])
    except IntegrityError as exc:
        # A concurrent write took the email between our check and the update.
        existing = _existing_by_email(values.get("email", ""))
        if existing is None or existing.pk == lead.pk:
            raise
        raise _duplicate(existing) from exc
    if dedupe_services.affects_keys(diff):
        dedupe_services.index_lead(lead=lead)
    core_events.publish(LeadUpdated(lead_id=lead.pk, actor_id=actor.pk, changes=diff), occurred_at=lead.updated_at)
    return lead


@transaction.atomic
def add_note(*, actor: User, lead_id: int, text: str) -> None:
    if not selectors.leads_visible_to(actor).filter(pk=lead_id).exists():
        raise LeadNotFound("Lead not found.")
    text = text.strip()
    if not text:
        raise InvalidLead("Write something.", fields={"text": ["Write something."]})
    if len(text) > 5000:
        raise InvalidLead("Too long.", fields={"text": ["At most 5000 characters."]})
    core_events.publish(NoteAdded(lead_id=lead_id, actor_id=actor.pk, text=text))


COMPANY_STATS_BATCH = 10_000  # pending rows drained per transaction

_DRAIN_COMPANY_STATS = """
    WITH drained AS (
        DELETE FROM leads_companystatspending
        WHERE id IN (SELECT id FROM leads_companystatspending ORDER BY id LIMIT %s)
        RETURNING company_id
    ), counted AS (
        SELECT d.company_id, count(l.id) AS n, max(l.created_at) AS last
        FROM (SELECT DISTINCT company_id FROM drained) d
        LEFT JOIN leads_lead l ON l.company_id = d.company_id
        GROUP BY d.company_id
    ), updated AS (  -- runs although unreferenced: PostgreSQL executes every data-modifying CTE
        UPDATE leads_company c SET lead_count = counted.n, last_lead_at = counted.last
        FROM counted
        WHERE c.id = counted.company_id AND (c.lead_count, c.last_lead_at) IS DISTINCT FROM (counted.n, counted.last)
    )
    SELECT count(*) FROM drained
"""


def drain_company_stats(*, batch_size: int = COMPANY_STATS_BATCH) -> int:
    """Recount ``lead_count`` and ``last_lead_at`` of the companies queued in ``leads_companystatspending``
    (by triggers on ``leads_lead``), each once however many rows it has; return the rows drained.

    Exact without locking the leads: the delete and the recount are one statement, so they share one snapshot.
    A queued row it can see was committed with its lead change, which the recount sees too; a row committed
    later stays for the next drain. Drains never overlap (a transaction-level advisory lock; a drain that finds
    one running leaves the rows to it and to the next run): an older snapshot's recount must not overwrite a
    newer one's. Idempotent and safe to retry.
    """
    drained = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(hashtext('leads.company_stats'))")
            row = cursor.fetchone()
            if row is None or not row[0]:
                return drained
            cursor.execute(_DRAIN_COMPANY_STATS, [batch_size])
            row = cursor.fetchone()
        batch = int(row[0]) if row else 0
        drained += batch
        if batch < batch_size:
            return drained


# --- Intake (called by the capture context, inside its transaction) ---------------------------

INTAKE_FIELDS = (*domain.TEXT_FIELDS, "time_zone", "email_domain_kind")


def ensure_company(*, domain_name: str, name: str = "", country: str = "") -> int:
    """The id of the company with this domain, created when missing (race-safe: ON CONFLICT).

    Read first: the company usually exists, and the read costs no sequence value and no write.
    """
    company_id = _company_id_by_domain(domain_name)
    if company_id is not None:
        return company_id
    now = clock.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO leads_company (name, domain, industry, size, country, lead_count, created_at, updated_at)
            VALUES (%s, %s, '', '', %s, 0, %s, %s)
            ON CONFLICT (domain) WHERE domain <> '' DO NOTHING
            RETURNING id
            """,
            [name or domain.company_name_from_domain(domain_name), domain_name, country, now, now],
        )
        row = cursor.fetchone()
    if row is not None:
        return int(row[0])
    company_id = _company_id_by_domain(domain_name)
    if company_id is None:  # pragma: no cover - the conflicting row was committed before our insert
        raise Company.DoesNotExist(domain_name)
    return company_id


def ensure_companies(companies: Sequence[tuple[str, str, str]]) -> dict[str, int]:
    """``ensure_company`` for many (domain, name, country): the id of each domain's company, created when
    missing, in three statements whatever their number (read, insert the missing ones, read the ones a
    concurrent intake created meanwhile). A domain listed twice is created with its first name and country.
    """
    first: dict[str, tuple[str, str]] = {}
    for domain_name, name, country in companies:
        if domain_name and domain_name not in first:
            first[domain_name] = (name or domain.company_name_from_domain(domain_name), country)
    if not first:
        return {}
    ids = _company_ids_by_domain(list(first))
    missing = [d for d in first if d not in ids]
    if missing:
        now = clock.now()
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO leads_company (name, domain, industry, size, country, lead_count, created_at, updated_at)
                SELECT u.name, u.domain, '', '', u.country, 0, %s, %s
                FROM unnest(%s::text[], %s::text[], %s::text[]) WITH ORDINALITY AS u(domain, name, country, n)
                ORDER BY u.n
                ON CONFLICT (domain) WHERE domain <> '' DO NOTHING
                RETURNING id, domain
                """,
                [now, now, missing, [first[d][0] for d in missing], [first[d][1] for d in missing]],
            )
            ids.update({str(d): int(i) for i, d in cursor.fetchall()})
        taken = [d for d in missing if d not in ids]
        if taken:  # created by a concurrent intake between our read and our insert
            ids.update(_company_ids_by_domain(taken))
    return ids


def _company_ids_by_domain(domains: list[str]) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT domain, id FROM leads_company WHERE domain = ANY(%s::text[]) AND domain <> ''", [domains]
        )
        return {str(d): int(i) for d, i in cursor.fetchall()}


def _company_id_by_domain(domain_name: str) -> int | None:
    # The unique index is partial (domain <> ''): repeat its predicate so PostgreSQL can use it.
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM leads_company WHERE domain = %s AND domain <> ''", [domain_name])
        row = cursor.fetchone()
    return int(row[0]) if row else None


_INTAKE_INSERT_CONFLICT = " ON CONFLICT ((lower(email))) WHERE email <> '' DO NOTHING RETURNING "


def _insert_unless_email_taken(lead: Lead) -> bool:
    """``INSERT … ON CONFLICT ((lower(email))) WHERE email <> '' DO NOTHING RETURNING id``.

    Django's own insert (defaults, ``pre_save``, adapters) with the conflict clause of the partial
    unique index: no savepoint, no IntegrityError round trip. False when the email is taken.
    """
    sql, params, using = _intake_insert_one(lead)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    lead.pk = row[0]
    lead._state.adding = False
    lead._state.db = using
    return True


def create_lead_from_intake(
    *,
    values: Mapping[str, str],
    channel: str,
    source: str,
    company_id: int | None = None,
    team_id: int | None = None,
    owner_id: int | None = None,
    actor_id: int | None = None,
    custom_fields: Mapping[str, Any] | None = None,
) -> tuple[Lead, bool]:
    """Insert a lead from normalized intake values; returns (lead, created).

    If a concurrent intake stored the same email first, nothing is inserted and the existing lead
    is returned (locked) with ``created=False`` so the caller merges into it instead (one lead per person).
    """
    fields = {k: v for k, v in values.items() if k in INTAKE_FIELDS and v}
    now = clock.now()
    lead = Lead(
        created_at=now,
        updated_at=now,
        source=source or channel,
        company_id=company_id,
        team_id=team_id,
        owner_id=owner_id,
        custom_fields=dict(custom_fields or {}),
        **{k: v for k, v in fields.items() if k != "source"},
    )
    if not _insert_unless_email_taken(lead):
        existing = _existing_by_email(fields.get("email", ""))
        if existing is None:  # pragma: no cover - the conflicting lead was deleted meanwhile
            raise IntegrityError("A lead with this email exists but could not be read.")
        return Lead.objects.select_for_update().get(pk=existing.pk), False
    dedupe_services.index_lead(lead=lead, new=True)
    core_events.publish(
        LeadCreated(
            lead_id=lead.pk,
            actor_id=actor_id,
            source=lead.source,
            channel=channel,
            fields=fields,
            company_id=lead.company_id,
        ),  # fmt: skip
        occurred_at=now,
    )
    return lead, True


@dataclass(frozen=True)
class NewIntakeLead:
    """One lead for ``create_leads_from_intake``: the arguments of ``create_lead_from_intake``, and the id it
    takes if created (reserved by the caller from the lead id sequence, in arrival order)."""

    lead_id: int
    values: Mapping[str, str]
    channel: str
    source: str
    company_id: int | None = None
    team_id: int | None = None
    owner_id: int | None = None
    actor_id: int | None = None
    custom_fields: Mapping[str, Any] | None = None


def create_leads_from_intake(new_leads: Sequence[NewIntakeLead]) -> list[Lead | None]:
    """``create_lead_from_intake`` for many leads in three statements whatever their number: one INSERT, their
    blocking keys, their ``LeadCreated`` events. A lead whose email a concurrent intake stored first is not
    inserted: None in its place (the caller then merges that submission into the existing lead, as the single
    path does)."""
    if not new_leads:
        return []
    now = clock.now()
    leads: list[Lead] = []
    fields_of: list[dict[str, str]] = []
    for new in new_leads:
        fields = {k: v for k, v in new.values.items() if k in INTAKE_FIELDS and v}
        fields_of.append(fields)
        leads.append(
            Lead(
                created_at=now,
                updated_at=now,
                source=new.source or new.channel,
                company_id=new.company_id,
                team_id=new.team_id,
                owner_id=new.owner_id,
                custom_fields=dict(new.custom_fields or {}),
                **{k: v for k, v in fields.items() if k != "source"},
            )
        )
    for lead, new in zip(leads, new_leads, strict=True):
        lead.pk = new.lead_id
    inserted = _insert_many_unless_email_taken(leads)
    created = [lead for lead in leads if lead.pk in inserted]
    dedupe_services.index_new_leads(created)
    core_events.publish_many(
        [
            LeadCreated(
                lead_id=lead.pk,
                actor_id=new.actor_id,
                source=lead.source,
                channel=new.channel,
                fields=fields,
                company_id=lead.company_id,
            )  # fmt: skip
            for lead, new, fields in zip(leads, new_leads, fields_of, strict=True)
            if lead.pk in inserted
        ],
        occurred_at=now,
    )
    return [lead if lead.pk in inserted else None for lead in leads]


def _insert_many_unless_email_taken(leads: list[Lead]) -> set[int]:
    """``INSERT … ON CONFLICT ((lower(email))) WHERE email <> '' DO NOTHING RETURNING id`` of leads whose ids
    are set, 500 rows per statement (~36 parameters a row; PostgreSQL takes 65,535); the ids inserted."""
    # Rows in email order (their ids are set already): two batches inserting the same emails wait on the unique
    # index in the same order instead of deadlocking.
    leads = sorted(leads, key=lambda lead: (lead.email or "").lower())
    inserted: set[int] = set()
    for start in range(0, len(leads), 500):
        inserted |= _insert_rows_unless_email_taken(leads[start : start + 500])
    return inserted


def _insert_rows_unless_email_taken(leads: Sequence[Lead]) -> set[int]:
    sql, params, using = _intake_insert(leads, with_ids=True)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        inserted = {int(r[0]) for r in cursor.fetchall()}
    for lead in leads:
        if lead.pk in inserted:
            lead._state.adding = False
            lead._state.db = using
    return inserted


_ONE_LEAD_INSERT: dict[str, tuple[str, list[Any]]] = {}  # database alias → (sql, fields), see _intake_insert_one


def _intake_insert_one(lead: Lead) -> tuple[str, Sequence[Any], str]:
    """:func:`_intake_insert` of one lead without an id, with the statement compiled once per process: every
    API intake inserts one lead, and Django's insert compiler rebuilt the same text each time (~3 % of the
    Python time of a routed intake). The parameters are what that compiler computes: each field's ``pre_save``
    value, prepared by ``get_db_prep_save`` (a test compares both)."""
    using = router.db_for_write(Lead)
    compiled = _ONE_LEAD_INSERT.get(using)
    if compiled is None:
        sql, params, using = _intake_insert([lead], with_ids=False)
        fields = _insert_fields(with_ids=False)
        if len(params) != len(fields):  # pragma: no cover - guards the shortcut against a Django change
            return sql, params, using
        _ONE_LEAD_INSERT[using] = (sql, fields)
        return sql, params, using
    sql, fields = compiled
    db = connections[using]
    return sql, [f.get_db_prep_save(f.pre_save(lead, True), connection=db) for f in fields], using


def _insert_fields(*, with_ids: bool) -> list[Any]:
    meta = Lead._meta
    return [f for f in meta.local_concrete_fields if not f.generated and (with_ids or f is not meta.pk)]


def _intake_insert(leads: Sequence[Lead], *, with_ids: bool) -> tuple[str, Sequence[Any], str]:
    """Django's own insert of ``leads`` (defaults, ``pre_save``, adapters) with the conflict clause of the
    partial unique index on ``lower(email)``: (sql, params, database alias)."""
    meta = Lead._meta
    fields = _insert_fields(with_ids=with_ids)
    query = InsertQuery(Lead)
    query.insert_values(fields, list[Any](leads))
    compiler = query.get_compiler(using=router.db_for_write(Lead))
    compiler.returning_fields = [meta.pk]
    [(sql, params)] = compiler.as_sql()
    sql, count = sql.replace(" RETURNING ", _INTAKE_INSERT_CONFLICT, 1), sql.count(" RETURNING ")
    if count != 1:  # pragma: no cover - guards the splice against a Django change
        raise RuntimeError("Unexpected INSERT statement for Lead.")
    return sql, params, compiler.using


def apply_intake_changes(
    *,
    lead_id: int,
    changes: Mapping[str, Any],
    channel: str,
    actor_id: int | None = None,
) -> Lead:
    """Write already-decided changes (survivorship is the caller's) and record them on the timeline.

    The caller (capture's intake) scores the lead in the same transaction, so the event says so and no
    rescoring job is queued for it (``config/event_map.ONLY_WHEN``)."""
    written = apply_intake_changes_many([IntakeChanges(lead_id=lead_id, changes=changes, channel=channel,
                                                       actor_id=actor_id)])  # fmt: skip
    if lead_id not in written:
        raise Lead.DoesNotExist(f"Lead {lead_id} does not exist.")
    return written[lead_id]


@dataclass(frozen=True)
class IntakeChanges:
    """One lead for ``apply_intake_changes_many``: the arguments of ``apply_intake_changes``."""

    lead_id: int
    changes: Mapping[str, Any]
    channel: str
    actor_id: int | None = None


_MERGE_TEXT = ", ".join(
    f"{f} = CASE WHEN u.changes ? '{f}' THEN u.changes ->> '{f}' ELSE l.{f} END" for f in INTAKE_FIELDS
)
# Every changed column of every lead in one statement: a column a lead does not change keeps its value (which
# PostgreSQL compares, so an unchanged indexed column still allows a HOT update).
_APPLY_INTAKE_CHANGES = f"""
    UPDATE leads_lead l SET {_MERGE_TEXT},
        company_id = CASE WHEN u.changes ? 'company_id' THEN (u.changes ->> 'company_id')::bigint ELSE l.company_id END,
        custom_fields = CASE WHEN u.changes ? 'custom_fields' THEN u.changes -> 'custom_fields'
                             ELSE l.custom_fields END,
        updated_at = %s
    FROM unnest(%s::bigint[], %s::jsonb[]) AS u(id, changes) WHERE l.id = u.id
"""  # noqa: S608 - fixed column names; the values are parameters


def apply_intake_changes_many(items: Sequence[IntakeChanges]) -> dict[int, Lead]:
    """``apply_intake_changes`` for several distinct leads in four statements whatever their number: lock and read
    them (in id order), write every change, re-file the blocking keys of those whose matching fields changed,
    publish their ``LeadUpdated``. Returns each lead as written (a lead that no longer exists is left out)."""
    if not items:
        return {}
    leads = {lead.pk: lead for lead in Lead.objects.select_for_update().filter(pk__in=[i.lead_id for i in items])
             .order_by("pk")}  # fmt: skip
    now = clock.now()
    written: list[tuple[Lead, dict[str, Any], IntakeChanges]] = []
    for item in items:
        lead = leads.get(item.lead_id)
        if lead is None:  # deleted meanwhile: nothing to write (the caller decides what that means)
            continue
        allowed = {k: v for k, v in item.changes.items() if k in (*INTAKE_FIELDS, "company_id", "custom_fields")}
        diff = domain.changed_fields({k: getattr(lead, k) for k in allowed}, allowed)
        if not diff:
            continue
        for field, value in allowed.items():
            setattr(lead, field, value)
        lead.updated_at = now
        written.append((lead, diff, item))
    if written:
        with connection.cursor() as cursor:
            cursor.execute(
                _APPLY_INTAKE_CHANGES,
                [now, [lead.pk for lead, _, _ in written],
                 jsonb_array({k: getattr(lead, k) for k in diff} for lead, diff, _ in written)],
            )  # fmt: skip
        dedupe_services.index_leads([lead for lead, diff, _ in written if dedupe_services.affects_keys(diff)])
        core_events.publish_many(
            [
                LeadUpdated(lead_id=lead.pk, actor_id=item.actor_id, changes=diff, channel=item.channel, scored=True)
                for lead, diff, item in written
            ],  # fmt: skip
            occurred_at=now,
        )
    return leads


@transaction.atomic
def record_outcome(*, lead_id: int, outcome: str, reason: str, at: Any, actor: User | None) -> Lead:
    """Close (``outcome`` "won"/"lost") or reopen ("") a lead: the label predictive scoring learns from.

    Writes ``outcome``, ``outcome_reason``, ``closed_at`` and ``status`` (won → converted; reopened → working)
    and publishes ``leads.LeadUpdated`` with the changes, like :func:`update_lead`. The caller checks
    permissions (the pipeline's deal rules).
    """
    if outcome not in ("", "won", "lost"):
        raise InvalidLead("Unknown outcome.", fields={"outcome": ["Unknown outcome."]})
    lead = Lead.objects.select_for_update(of=("self",)).filter(pk=lead_id).first()
    if lead is None:
        raise LeadNotFound("Lead not found.")
    values: dict[str, Any] = {
        "outcome": outcome,
        "outcome_reason": " ".join(reason.split())[:200] if outcome == "lost" else "",
        "closed_at": at if outcome else None,
    }
    if outcome == "won":
        values["status"] = "converted"
    elif outcome == "" and lead.outcome == "won" and lead.status == "converted":
        values["status"] = "working"
    diff: dict[str, list[Any]] = {}
    for field, value in values.items():
        before = getattr(lead, field)
        if before != value:
            diff[field] = [before.isoformat() if hasattr(before, "isoformat") else before,
                           value.isoformat() if hasattr(value, "isoformat") else value]  # fmt: skip
            setattr(lead, field, value)
    if not diff:
        return lead
    lead.updated_at = clock.now()
    lead.save(update_fields=[*diff.keys(), "updated_at"])
    core_events.publish(
        LeadUpdated(lead_id=lead.pk, actor_id=actor.pk if actor else None, changes=diff, channel="pipeline"),
        occurred_at=lead.updated_at,
    )
    return lead


# ---- merge support (called by dedupe)
# The Lead row writes of a merge and its undo (embudo.dedupe.services.merge_leads / unmerge), which
# owns the snapshots, the moved rows and the Merge record; these run inside its transaction.


def lock_leads_for_merge(*, lead_ids: list[int]) -> dict[int, Lead]:
    """Lock the given leads ``FOR UPDATE`` in id order (two merges of one pair cannot deadlock); the ones
    that exist, by id."""
    return {lead.pk: lead for lead in Lead.objects.select_for_update().filter(pk__in=lead_ids).order_by("pk")}


def delete_merged_lead(*, lead_id: int) -> None:
    """Delete a merged lead's row once dedupe has snapshotted it and moved every row that refers to it."""
    Lead.objects.filter(pk=lead_id).delete()


def write_merge_values(*, lead_id: int, values: Mapping[str, Any]) -> None:
    """Set columns of a lead to the values a merge (or its undo) chose, as given (no event: dedupe
    publishes LeadsMerged / MergeUndone)."""
    if values:
        Lead.objects.filter(pk=lead_id).update(**values)


def reinsert_unmerged_lead(*, values: Mapping[str, Any]) -> bool:
    """Re-insert a merged lead with its id and every column from its snapshot; False (nothing written)
    when another lead took its email meanwhile."""
    try:
        with transaction.atomic():
            Lead(**values).save(force_insert=True)
    except IntegrityError:
        return False
    return True


def rebuild_owner_loads() -> None:
    """Recount ``leads_ownerload`` from the leads, for writers that ran with triggers off (the benchmark seed's
    ``session_replication_role = replica``). Lead writes wait meanwhile (SHARE lock), so no count is missed."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE leads_lead IN SHARE MODE")
        cursor.execute("DELETE FROM leads_ownerload")
        cursor.execute(
            "INSERT INTO leads_ownerload (user_id, open_leads) SELECT owner_id, count(*) FROM leads_lead"
            " WHERE owner_id IS NOT NULL AND is_open GROUP BY owner_id"
        )
