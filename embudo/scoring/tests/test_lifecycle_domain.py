"""Lifecycle transition rules (pure): automatic moves only go forward, never out of the end stages."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from embudo.scoring.domain import lifecycle as domain

stages = st.sampled_from(domain.STAGES)
rules = st.sampled_from(list(domain.Rule))
roles = st.sampled_from(["admin", "manager", "marketing", "sales_rep"])
bant_values = st.fixed_dictionaries({name: st.sampled_from(["", " ", "50k", "CTO"]) for name in domain.BANT_FIELDS})


@given(rule=rules, stage=stages)
def test_automatic_moves_only_go_forward(rule: domain.Rule, stage: str) -> None:
    target = domain.automatic_target(rule, stage)
    if target is not None:
        assert domain.is_forward(stage, target)


@given(rule=rules, stage=st.sampled_from(sorted(domain.TERMINAL_FOR_RULES)))
def test_no_rule_moves_a_lead_out_of_opportunity_customer_or_disqualified(rule: domain.Rule, stage: str) -> None:
    assert domain.automatic_target(rule, stage) is None


@given(rule=rules, stage=stages)
def test_a_rule_applied_twice_changes_nothing_more(rule: domain.Rule, stage: str) -> None:
    target = domain.automatic_target(rule, stage)
    if target is not None:
        assert domain.automatic_target(rule, target) is None


def test_which_stages_each_rule_moves() -> None:
    assert {s for s in domain.STAGES if domain.automatic_target(domain.Rule.SCORE_THRESHOLD, s)} == {
        "subscriber",
        "lead",
    }
    assert {s for s in domain.STAGES if domain.automatic_target(domain.Rule.PRODUCT_ACTIVITY, s)} == {
        "subscriber",
        "lead",
        "mql",
    }
    assert {s for s in domain.STAGES if domain.automatic_target(domain.Rule.BANT_COMPLETE, s)} == {"lead", "mql", "pql"}


@given(old=st.integers(-200, 200), new=st.integers(-200, 200), threshold=st.integers(-100, 100))
def test_crossing_the_threshold_means_below_before_and_at_or_above_now(old: int, new: int, threshold: int) -> None:
    assert domain.crosses_threshold(old, new, threshold) == (old < threshold <= new)
    if domain.crosses_threshold(old, new, threshold):
        assert new > old


@given(values=bant_values, stage=stages)
def test_bant_moves_to_sql_only_when_all_four_are_known(values: dict[str, str], stage: str) -> None:
    known = domain.bant_known(values)
    assert 0 <= known <= 4
    target = domain.bant_target(stage, values)
    if known < 4:
        assert target is None
    else:
        assert target == ("sql" if stage in ("lead", "mql", "pql") else None)


@given(role=roles, current=stages, reason=st.sampled_from(domain.DISQUALIFY_REASONS), note=st.text(max_size=30))
def test_disqualifying_needs_a_listed_reason_and_a_note_for_other(
    role: str, current: str, reason: str, note: str
) -> None:
    problem = domain.check_manual_move(role=role, current=current, target="disqualified", reason=reason, note=note)
    if current == "disqualified":
        assert problem is not None and problem.field == "stage"
    elif role == "marketing":
        assert problem is not None and problem.forbidden
    elif reason == "other" and not note.strip():
        assert problem is not None and problem.field == "note"
    else:
        assert problem is None


@given(role=st.sampled_from(["admin", "manager", "sales_rep"]), current=stages, target=stages)
def test_moving_back_needs_a_reason_moving_forward_does_not(role: str, current: str, target: str) -> None:
    problem = domain.check_manual_move(role=role, current=current, target=target, reason="")
    if current == target:
        assert problem is not None
    elif target == "disqualified":
        assert problem is not None and problem.field == "reason"
    elif current in domain.RANK and domain.RANK[target] < domain.RANK[current]:
        assert problem is not None and problem.field == "reason"
        assert domain.check_manual_move(role=role, current=current, target=target, reason="recycled") is None
    else:
        assert problem is None


def test_unknown_reasons_and_too_long_notes_are_refused() -> None:
    assert domain.check_manual_move(role="admin", current="lead", target="disqualified", reason="meh") == (
        domain.MoveProblem("reason", "Choose why the lead is disqualified.")
    )
    problem = domain.check_manual_move(
        role="admin", current="lead", target="disqualified", reason="spam", note="x" * 300
    )
    assert problem is not None and problem.field == "note"
    assert domain.check_manual_move(role="admin", current="lead", target="nowhere", reason="") is not None


@given(code=st.sampled_from(domain.DISQUALIFY_REASONS), note=st.text(alphabet="abc xyz", max_size=40))
def test_reasons_round_trip(code: str, note: str) -> None:
    stored = domain.format_reason(code, note)
    assert domain.split_reason(stored) == (code, " ".join(note.split()))


def test_bant_answers_are_trimmed_and_limited() -> None:
    values, errors = domain.clean_bant({"budget": "  50k  EUR ", "authority": None, "need": "", "timing": "x" * 201})
    assert values == {"budget": "50k EUR", "need": ""}
    assert errors == {"timing": ["At most 200 characters."]}


STATUSES = ("new", "working", "nurturing", "qualified", "disqualified", "converted")


@given(st.sampled_from(STATUSES), st.sampled_from(domain.STAGES))
def test_status_after_a_move_is_closed_only_for_closed_stages(status: str, stage: str) -> None:
    after = domain.status_after_move(status, stage)
    assert (after == "disqualified") == (stage == domain.DISQUALIFIED)
    assert (after == "converted") == (stage == domain.CUSTOMER)
    if stage not in (domain.DISQUALIFIED, domain.CUSTOMER) and status not in ("disqualified", "converted"):
        assert after == status  # the rep's own status is left alone
