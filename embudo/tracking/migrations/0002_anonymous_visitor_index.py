"""Serves stitching: ``UPDATE core_domainevent … WHERE lead_id IS NULL AND type LIKE 'activity.%'
AND (payload->>'visitor_id') = %s``. Partial, so it holds only anonymous activity (small), and built
CONCURRENTLY (non-atomic migration) so a 10M-row events table stays writable meanwhile.
Created here because the tracking context owns the query; core's table is shared."""

from django.db import migrations


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("core", "0002_domain_event"),
        ("tracking", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            sql="CREATE INDEX CONCURRENTLY IF NOT EXISTS tracking_anon_visitor_idx "
            "ON core_domainevent ((payload->>'visitor_id')) "
            "WHERE lead_id IS NULL AND type LIKE 'activity.%'",
            reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS tracking_anon_visitor_idx",
        ),
    ]
