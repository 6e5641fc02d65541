"""Serves the scoring engine's engagement read: ``core_domainevent e … WHERE e.lead_id = s.lead_id AND
e.type = ANY(<the model's activity types>) AND e.lead_id IS NOT NULL AND e.type LIKE 'activity.%'``.
With only (lead_id, time) to go on, every event of a lead was read from the table to test its type (~25
rows for ~9 kept, each a random page when not cached); this index reads only the kept ones (bench
scoring: event batches with score updates ~1.8x faster). Partial (behaviour events of known leads only;
anonymous ones have tracking_anon_visitor_idx), and built CONCURRENTLY (non-atomic migration) so a
10M-row events table stays writable meanwhile. Created here because the scoring context owns the query."""

from django.db import migrations


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("core", "0002_domain_event"),
        ("scoring", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            sql="CREATE INDEX CONCURRENTLY IF NOT EXISTS scoring_activity_lead_type_idx "
            "ON core_domainevent (lead_id, type) WHERE lead_id IS NOT NULL AND type LIKE 'activity.%'",
            reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS scoring_activity_lead_type_idx",
        ),
    ]
