"""No planner statistics for the lead columns that no query filters, joins, groups or sorts on.

Why: ``search_text`` keeps a statistics target of 1000 (migration 0002: stable plans for searches), and
PostgreSQL sizes an ANALYZE's sample by the largest target of the table, 300 rows per unit: 300,000 leads.
Every other column's statistics are then computed over those 300,000 rows too (a sort of 300,000 values
each), so one ``ANALYZE leads_lead`` took 8-10 CPU-seconds at 1M leads, and autovacuum runs one after every
10% of the table changes (three during a 1M-row CSV import). These fifteen columns are read and shown but
never in a WHERE, JOIN, GROUP BY or ORDER BY (names and companies are searched through ``search_text``):
without their statistics an ANALYZE takes ~5 CPU-seconds. A filter added on one of them later should set
its statistics back (``SET STATISTICS -1``).
"""

from django.db import migrations

COLUMNS = (
    "first_name", "last_name", "job_title", "company_name", "street_address", "address_line2", "postal_code",
    "bant_authority", "bant_budget", "bant_need", "bant_timing", "lifecycle_reason", "lifecycle_changed_at",
    "outcome_reason", "custom_fields",
)  # fmt: skip


def _alter(target: int) -> str:
    return "ALTER TABLE leads_lead " + ", ".join(f"ALTER COLUMN {c} SET STATISTICS {target}" for c in COLUMNS) + ";"


class Migration(migrations.Migration):
    dependencies = [("leads", "0015_search_text_ascii_fast_path")]

    operations = [migrations.RunSQL(_alter(0), reverse_sql=_alter(-1))]
