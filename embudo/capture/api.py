"""The API channel of intake: POST /api/v1/leads (and /batch) go through the one intake path.

The operations are added to the leads router so that GET and POST share the /leads path.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from io import BytesIO
from typing import Any

import pydantic
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponseBase, JsonResponse
from ninja import Header, Status
from ninja.decorators import decorate_view

from embudo.accounts import selectors as accounts_selectors
from embudo.accounts.api import BearerToken
from embudo.accounts.models import User
from embudo.capture import batch_intake, group_commit, selectors, services
from embudo.capture.domain.raw import without_nul
from embudo.capture.exceptions import IdempotencyKeyReused, InvalidSubmission
from embudo.capture.models import Submission
from embudo.capture.schemas import (
    BATCH_MAX_BODY_BYTES,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    BatchIn,
    BatchItemOut,
    BatchOut,
    CaptureIn,
    CaptureOut,
    OwnerOut,
)
from embudo.core import clock
from embudo.core.exceptions import DomainError, PermissionDenied
from embudo.leads import domain as leads_domain
from embudo.leads.api import router as leads_router
from embudo.leads.schemas import ErrorOut

ERRORS = {401: ErrorOut, 403: ErrorOut, 409: ErrorOut, 413: ErrorOut, 422: ErrorOut}

Run = Callable[..., HttpResponseBase]


def _body_up_to(max_bytes: int | None) -> Callable[[Run], Run]:
    """A body of up to ``max_bytes`` on this operation (None: Django's DATA_UPLOAD_MAX_MEMORY_SIZE, which every
    other view keeps), and a larger one answered with a JSON 413 in the API's error format (not Django's 400 page).

    Wraps the operation's run, which authenticates and then reads the body: a body above the global limit is read
    here, once the token is checked (an anonymous client cannot make us hold 20 MB), as ``HttpRequest.body``
    reads it, with this operation's limit instead of the global one.
    """

    def decorator(run: Run) -> Run:
        @functools.wraps(run)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE if max_bytes is None else max_bytes
            length = _content_length(request)
            if limit is not None and length > limit:
                return _too_large(limit)
            default = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            if default is not None and length > default and not hasattr(request, "_body") and BearerToken()(request):
                try:
                    body = request.read((limit or length) + 1)
                finally:
                    request._stream.close()
                if limit is not None and len(body) > limit:
                    return _too_large(limit)
                request._body = body
                request._stream = BytesIO(body)
            try:
                return run(request, *args, **kwargs)
            except RequestDataTooBig:  # read by ninja with the global limit (ninja has no handler for it)
                return _too_large(default or 0)

        return wrapper

    return decorator


def _content_length(request: HttpRequest) -> int:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def _too_large(limit: int) -> JsonResponse:
    return JsonResponse(
        {"code": "request_too_large", "message": "The request body is too large.",
         "fields": {"body": [f"At most {limit:,} bytes."]}},
        status=413,
    )  # fmt: skip


# Idempotency keys are the client's, scoped to the API user who sent them: the stored key is namespaced by user, so
# another client's same key is another request (never a replay of someone else's lead), and a batch's item keys
# live apart from single requests' keys. Three disjoint forms (what follows "u<id>" tells them apart):
#   u<id>:<key>                    POST /leads
#   u<id>#batch:<key>#item:<n>     item n of POST /leads/batch
#   u<id>#sha256:<hex>             either of the above when longer than the column (its SHA-256): never truncated
# Keys stored before this scheme (the bare client key, "<key>:<n>" for batch items) are not found by a new request
# with the same key, which is processed as new; the stored row is kept as it is. Should one equal a new key by
# chance, the request is answered 409 unless it is the same user's same request (``_same_request``).
STORED_KEY_MAX_LENGTH = Submission._meta.get_field("idempotency_key").max_length or 200


def _client_key(header: str | None) -> str:
    key = (header or "").strip()
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise InvalidSubmission(
            "Idempotency-Key is too long.",
            fields={"Idempotency-Key": [f"At most {IDEMPOTENCY_KEY_MAX_LENGTH} characters."]},
        )
    return key


def _stored_key(user: User, key: str, *, item: int | None = None) -> str:
    if not key:
        return ""
    stored = f"u{user.pk}:{key}" if item is None else f"u{user.pk}#batch:{key}#item:{item}"
    if len(stored) <= STORED_KEY_MAX_LENGTH:
        return stored
    return f"u{user.pk}#sha256:{hashlib.sha256(stored.encode('utf-8', 'surrogatepass')).hexdigest()}"


def _same_request(
    result: services.IntakeResult, *, user: User, payload: dict[str, Any], context: services.ProcessingContext
) -> bool:
    """Whether the submission a repeated key found is this request: the same user, the same body and the same team
    and owner (taken out of the body into the context: a different ``team_id`` is another request)."""
    stored = selectors.get_submission(result.submission_id)
    if stored is None:
        return False
    stored_context = stored.context or {}
    return (
        stored.actor_id == user.pk
        and stored.payload == without_nul(payload)  # stored without NUL characters (see capture.domain.raw)
        and (stored_context.get("team_id"), stored_context.get("owner_id")) == (context.team_id, context.owner_id)
    )


def _meta(request: HttpRequest) -> services.SubmissionMeta:
    return services.SubmissionMeta(
        ip=request.META.get("REMOTE_ADDR"),
        user_agent=request.headers.get("User-Agent", ""),
        headers={k: v for k, v in request.headers.items() if k.lower() in selectors.KEPT_HEADERS},
        referrer=request.headers.get("Referer", ""),
        accept_language=request.headers.get("Accept-Language", ""),
    )


def _validate(payload: dict[str, Any]) -> None:
    """Checks the schema cannot express; raising here stores nothing (the request is malformed)."""
    fields: dict[str, list[str]] = {}
    team_id, owner_id = payload.get("team_id"), payload.get("owner_id")
    if team_id is not None and not accounts_selectors.team_exists(team_id):
        fields["team_id"] = ["Unknown team."]
    if owner_id is not None and not accounts_selectors.active_user_exists(owner_id):
        fields["owner_id"] = ["Unknown or inactive user."]
    if "custom_fields" in payload:
        message = leads_domain.custom_fields_error(payload["custom_fields"])
        if message:
            fields["custom_fields"] = [message]
    if fields:
        raise InvalidSubmission("Some fields are not valid.", fields=fields)


def _context(user: User, payload: dict[str, Any]) -> services.ProcessingContext:
    _validate(payload)
    team_id = payload.pop("team_id", None)
    owner_id = payload.pop("owner_id", None)
    if user.role not in ("sales_rep", "manager"):
        return services.ProcessingContext(team_id=team_id, owner_id=owner_id)
    team_ids = accounts_selectors.team_ids_of(user)
    if user.role == "sales_rep":
        # A rep entering a lead by API owns it, in their team (as in the UI).
        if owner_id not in (None, user.pk) or (team_id is not None and team_id not in team_ids):
            raise PermissionDenied("Sales reps can only capture leads for themselves.")
        owner_id, team_id = user.pk, team_id or (team_ids[0] if team_ids else None)
    elif user.role == "manager" and team_id is None and team_ids:
        team_id = team_ids[0]
    return services.ProcessingContext(team_id=team_id, owner_id=owner_id)


def _status_code(result: services.IntakeResult) -> int:
    if result.status == "processed":
        return 201 if result.created else 200
    if result.status == "rejected":
        return 422
    return 202


def _out(result: services.IntakeResult) -> CaptureOut:
    summary = result.lead_summary
    if summary is not None:
        # Known from processing (score, grade and owner are set in the intake transaction): only the
        # owner's name is read, not the whole lead.
        owner: tuple[int, str, str] | None = None
        if summary.owner_id is not None and summary.owner_contact is not None:  # routing read them with the pool
            owner = (summary.owner_id, *summary.owner_contact)
        elif summary.owner_id is not None:
            owner = selectors.get_owner_summary(summary.owner_id)
        return CaptureOut(id=result.lead_id, created=result.created, score=summary.score, grade=summary.grade,
                          owner=OwnerOut(id=owner[0], email=owner[1], full_name=owner[2]) if owner else None,
                          submission_id=result.submission_id, status=result.status,
                          fields=result.errors)  # fmt: skip
    lead = selectors.get_lead_summary(result.lead_id) if result.lead_id else None
    return CaptureOut(
        id=result.lead_id,
        created=result.created,
        score=lead.score if lead else None,
        grade=lead.grade if lead else None,
        owner=OwnerOut(id=lead.owner.pk, email=lead.owner.email, full_name=lead.owner.full_name)
        if lead and lead.owner
        else None,
        submission_id=result.submission_id,
        status=result.status,
        fields=result.errors,
    )


def _capture_one(request: HttpRequest, payload: dict[str, Any], idempotency_key: str) -> services.IntakeResult:
    user: User = request.auth  # type: ignore[attr-defined]
    context = _context(user, payload)
    stored_key = _stored_key(user, idempotency_key)
    combiner = group_commit.group_commit()
    if combiner is not None:
        item = batch_intake.BatchItem(payload=payload, context=context, meta=_meta(request), actor_id=user.pk,
                                      idempotency_key=stored_key, received_at=clock.now())  # fmt: skip
        result = combiner.capture(channel="api", item=item)
    else:
        result = services.capture(
            channel="api",
            payload=payload,
            meta=_meta(request),
            context=context,
            idempotency_key=stored_key,
            actor_id=user.pk,
        )
    if result.duplicate_request and not _same_request(result, user=user, payload=payload, context=context):
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for a different request.",
            fields={"Idempotency-Key": ["Already used with another body."]},
        )
    return result


@leads_router.post(
    "",
    response={200: CaptureOut, 201: CaptureOut, 202: CaptureOut, **ERRORS},
    summary="Capture a lead (create or merge)",
)
@decorate_view(_body_up_to(None))
def capture_lead(
    request: HttpRequest, payload: CaptureIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key")
) -> Status[CaptureOut]:
    """The whole intake path: stored raw first, normalized, matched to an existing lead by email or phone
    (`200`, merged) or created (`201`), enriched, attributed. Invalid data is `422` with per-field messages
    (the raw submission is kept as rejected). `202` means processing failed and will be retried.
    Send an `Idempotency-Key` header (at most 200 characters) to make retries safe: the same key with the same
    body returns the first response; with another body (`team_id` and `owner_id` included) it is `409`. Keys
    are your own: another API user's same key is another request."""
    key = _client_key(idempotency_key)
    result = _capture_one(request, payload.dict(exclude_none=True), key)
    if result.status == "rejected":
        # The raw submission is kept (status rejected, with these messages) for the reconciliation.
        raise InvalidSubmission("Some fields are not valid.", fields=result.errors)
    return Status(_status_code(result), _out(result))


@leads_router.post("/batch", response={200: BatchOut, **ERRORS}, summary="Capture up to 1,000 leads")
@decorate_view(_body_up_to(BATCH_MAX_BODY_BYTES))
def capture_batch(
    request: HttpRequest, payload: BatchIn, idempotency_key: str | None = Header(None, alias="Idempotency-Key")
) -> BatchOut:
    """Each item is a lead as for `POST /leads`, with its own result in the same order (`status_code` as the
    single request would answer): one bad item does not stop the others. The items are processed together,
    set-based (one statement per step for up to 50 items, each 50 in one transaction), with the same outcome
    as one request per item in the batch's order. The body may be up to 20 MB (`413` above).

    With an `Idempotency-Key` (at most 200 characters), each item is idempotent on its own: the same key again
    returns each item's first result, and an item whose body changed is `409` (that item only). A batch's key
    never replays a single request's, nor another API user's."""
    user: User = request.auth  # type: ignore[attr-defined]
    key = _client_key(idempotency_key)
    results: list[BatchItemOut | None] = [None] * len(payload.items)
    meta = _meta(request)
    accepted: list[tuple[int, dict[str, Any], services.ProcessingContext]] = []
    items: list[batch_intake.BatchItem] = []
    for index, raw in enumerate(payload.items):
        try:
            item = CaptureIn.model_validate(raw).dict(exclude_none=True)
            context = _context(user, item)
        except pydantic.ValidationError as exc:
            results[index] = _item_error(index, 422, _pydantic_fields(exc))
            continue
        except DomainError as exc:  # an unknown team or owner, or an owner a rep may not set: nothing stored
            results[index] = _item_error(index, exc.status, exc.fields or {"body": [exc.message]})
            continue
        accepted.append((index, item, context))
        items.append(batch_intake.BatchItem(payload=item, context=context, meta=meta, actor_id=user.pk,
                                            idempotency_key=_stored_key(user, key, item=index)))  # fmt: skip
    captured = batch_intake.capture_many(channel="api", items=items)
    for (index, item, context), result in zip(accepted, captured, strict=True):
        if result.duplicate_request and not _same_request(result, user=user, payload=item, context=context):
            results[index] = _item_error(index, 409, {"Idempotency-Key": ["Already used with another body."]})
        else:
            results[index] = BatchItemOut(index=index, status_code=_status_code(result), **_out(result).dict())
    done = [r for r in results if r is not None]
    counts = {"created": 0, "merged": 0, "rejected": 0, "failed": 0}
    for r in done:
        bucket = {201: "created", 200: "merged", 422: "rejected"}.get(r.status_code, "failed")
        counts[bucket] += 1
    return BatchOut(items=done, **counts)


def _pydantic_fields(exc: pydantic.ValidationError) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for error in exc.errors():
        name = ".".join(str(p) for p in error["loc"]) or "body"
        fields.setdefault(name, []).append("Unknown field." if error["type"] == "extra_forbidden" else error["msg"])
    return fields


def _item_error(index: int, status_code: int, fields: dict[str, list[str]]) -> BatchItemOut:
    return BatchItemOut(index=index, status_code=status_code, id=None, created=False, score=None, grade=None,
                        owner=None, submission_id=0, status="invalid", fields=fields)  # fmt: skip
