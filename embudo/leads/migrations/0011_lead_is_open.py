"""Lead.is_open (stored, generated) and lead_owner_open_idx on it alone.

The index's predicate named status and lifecycle_stage, so every stage move and status change was a non-HOT
update, with a new entry in each of the table's indexes, the trigram one included (measured on 1M leads:
0.43 -> 0.15 ms per lead moved to PQL). The column is one call of an IMMUTABLE SQL function (see
LeadSearchText for why not the expression itself). Adding it rewrites leads_lead (about 40 s for 1M leads,
the table locked).
"""

from django.db import migrations, models

import embudo.leads.models

CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION embudo_lead_is_open(status text, lifecycle_stage text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT status NOT IN ('converted', 'disqualified') AND lifecycle_stage NOT IN ('customer', 'disqualified') $$;
"""


class Migration(migrations.Migration):
    dependencies = [("leads", "0010_search_text_function")]

    operations = [
        migrations.RunSQL(
            CREATE_FUNCTION, reverse_sql="DROP FUNCTION IF EXISTS embudo_lead_is_open(text, text);"
        ),
        migrations.RemoveIndex(model_name="lead", name="lead_owner_open_idx"),
        migrations.AddField(
            model_name="lead",
            name="is_open",
            field=models.GeneratedField(
                db_persist=True,
                expression=embudo.leads.models.LeadIsOpen("status", "lifecycle_stage"),
                output_field=models.BooleanField(),
            ),
        ),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(condition=models.Q(("is_open", True)), fields=["owner"], name="lead_owner_open_idx"),
        ),
    ]
