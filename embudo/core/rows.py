"""Model instances from plain SQL rows, for the intake's hot path.

Compiling an ORM query (``pre_sql_setup``, ``get_select``, ``get_converters``) costs more Python time than
PostgreSQL spends running a primary-key lookup: ~1.5 ms against ~0.1 ms for the lead the router reads, on
every routed lead. A ``RowPlan`` is that compilation done once per model and table alias: the column list
to splice into a statement and the field converters the ORM would apply (JSON text → value, …). The
instances are the same as the ORM's (``Model.from_db``: not adding, the connection's alias).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class RowPlan:
    model: type[Model]
    alias: str
    columns: str  # ``alias."column", …`` in the order of the model's concrete fields
    width: int
    attnames: tuple[str, ...]
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...]  # (position, converters, expression)


@functools.cache
def row_plan(model: type[Model], alias: str) -> RowPlan:
    """The columns of ``model`` under the table alias ``alias`` and the converters of its fields."""
    fields = model._meta.concrete_fields
    converters = []
    for position, field in enumerate(fields):
        column = field.get_col(alias)
        found = tuple(connection.ops.get_db_converters(column)) + tuple(column.get_db_converters(connection))
        if found:
            converters.append((position, found, column))
    return RowPlan(
        model=model,
        alias=alias,
        columns=", ".join(f'{alias}."{field.column}"' for field in fields),
        width=len(fields),
        attnames=tuple(field.attname for field in fields),
        converters=tuple(converters),
    )


def instance_from_row(plan: RowPlan, row: Sequence[Any], start: int = 0) -> Any:
    """The model instance of ``plan`` read from ``row[start:start + plan.width]``."""
    values = list(row[start : start + plan.width])
    for position, converters, expression in plan.converters:
        value = values[position]
        for convert in converters:
            value = convert(value, expression, connection)
        values[position] = value
    return plan.model.from_db(connection.alias, plan.attnames, values)
