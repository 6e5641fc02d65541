"""``Lead.search_text`` computed by one IMMUTABLE SQL function of its five columns.

The value is unchanged (same folding, same order and separators as migration 0006). What changes is the
size of the stored expression: PostgreSQL 18 re-reads a stored generated column's expression tree for
every row an UPDATE writes, even one that does not touch the column's inputs (a score, an owner, a
lifecycle stage), and the tree Django spelled out for 0006 cost ~11 µs a row to read. A call with five
column arguments costs ~1 µs; where the column is computed (inserts, name edits) PostgreSQL inlines the
function, so that cost is unchanged. As in 0006, the column and its index are dropped and added again
(a generated column's expression cannot be altered in place before PostgreSQL 17), which rewrites the table.
"""

from django.contrib.postgres.indexes import GinIndex
from django.db import migrations, models

import embudo.leads.models

CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION embudo_lead_search_text(
    first_name text, last_name text, email text, company_name text, phone text
) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT embudo_search_fold(lower(
    coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || coalesce(email, '') || ' '
    || coalesce(company_name, '') || ' ' || coalesce(phone, '')
)) $$;
"""


class Migration(migrations.Migration):
    dependencies = [("leads", "0009_score_rank_row_trigger")]

    operations = [
        migrations.RunSQL(
            CREATE_FUNCTION,
            reverse_sql="DROP FUNCTION IF EXISTS embudo_lead_search_text(text, text, text, text, text);",
        ),
        migrations.RemoveIndex(model_name="lead", name="lead_search_trgm"),
        migrations.RemoveField(model_name="lead", name="search_text"),
        migrations.AddField(
            model_name="lead",
            name="search_text",
            field=models.GeneratedField(
                db_persist=True,
                expression=embudo.leads.models.LeadSearchText(
                    "first_name", "last_name", "email", "company_name", "phone"
                ),
                output_field=models.TextField(),
            ),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=GinIndex(fields=["search_text"], name="lead_search_trgm", opclasses=["gin_trgm_ops"]),
        ),
        migrations.RunSQL(
            "ALTER TABLE leads_lead ALTER COLUMN search_text SET STATISTICS 1000; ANALYZE leads_lead (search_text);",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
