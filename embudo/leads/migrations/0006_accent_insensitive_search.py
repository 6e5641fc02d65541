"""Accent-insensitive search: "garcia" finds "García".

``embudo_search_fold`` is IMMUTABLE plain SQL (``translate``), so a stored generated column and its
trigram index may use it; the same two strings are ``leads.domain.SEARCH_FOLD_FROM/TO``, which fold
the query (a test holds both sides equal on PostgreSQL). A generated column's expression cannot be
altered in place: the column (and its index) are dropped and added again, which rewrites the table.
"""

import django.db.models.functions.comparison
import django.db.models.functions.text
from django.contrib.postgres.indexes import GinIndex
from django.db import migrations, models

import embudo.leads.models

FOLD_FROM = "áàâäãåāăąçćčďéèêëēėęěíìîïīįñńňóòôöõøōőŕřśšşťúùûüūůűųýÿźżž"
FOLD_TO = "aaaaaaaaacccdeeeeeeeeiiiiiinnnoooooooorrssstuuuuuuuuyyzzz"

CREATE_FUNCTION = f"""
CREATE OR REPLACE FUNCTION embudo_search_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT translate(value, '{FOLD_FROM}', '{FOLD_TO}') $$;
"""


def _search_text() -> models.GeneratedField:
    Coalesce = django.db.models.functions.comparison.Coalesce
    parts = []
    for name in ("first_name", "last_name", "email", "company_name", "phone"):
        if parts:
            parts.append(models.Value(" "))
        parts.append(Coalesce(name, models.Value("")))
    return models.GeneratedField(
        db_persist=True,
        expression=embudo.leads.models.SearchFold(
            django.db.models.functions.text.Lower(django.db.models.functions.text.Concat(*parts))
        ),
        output_field=models.TextField(),
    )


class Migration(migrations.Migration):
    dependencies = [("leads", "0005_owner_open_index")]

    operations = [
        migrations.RunSQL(CREATE_FUNCTION, reverse_sql="DROP FUNCTION IF EXISTS embudo_search_fold(text);"),
        migrations.RemoveIndex(model_name="lead", name="lead_search_trgm"),
        migrations.RemoveField(model_name="lead", name="search_text"),
        migrations.AddField(model_name="lead", name="search_text", field=_search_text()),
        migrations.AddIndex(
            model_name="lead",
            index=GinIndex(fields=["search_text"], name="lead_search_trgm", opclasses=["gin_trgm_ops"]),
        ),
        # Same statistics target as 0002 (the new column starts at the default).
        migrations.RunSQL(
            "ALTER TABLE leads_lead ALTER COLUMN search_text SET STATISTICS 1000; ANALYZE leads_lead (search_text);",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
