"""A smaller GIN pending list for the database's sessions (256 kB instead of PostgreSQL's 4 MB).

Why: a new or updated lead adds its ~60 trigrams of ``search_text`` to ``lead_search_trgm``'s pending list, and
the insert that takes the list past ``gin_pending_list_limit`` merges the whole list into the index, inside the
request. With 4 MB that merge took 100-200 ms every ~16 s at 100 leads/s (sampled in ``pg_stat_activity``: one
``INSERT INTO leads_lead`` or owner ``UPDATE`` busy that long while holding its pool's lock, the next requests
queued behind it), the largest part of ``bench speed-to-lead``'s p99. With 256 kB the merges are 16 times
smaller and more frequent. Bulk paths (the CSV import, a rescore) still set a large limit for their own
transaction (``SET LOCAL``) and merge once at the end.

Set on the database (new sessions), not on the index: an index's storage parameter would override the bulk
paths' ``SET LOCAL``. A role that does not own the database cannot set it: the migration then warns and goes on
(the setting is a latency tuning, not a correctness one)."""

from django.db import migrations

FORWARD = """
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I SET gin_pending_list_limit = %L', current_database(), '256kB');
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'gin_pending_list_limit not set on database %: not its owner', current_database();
END $$;
"""

BACKWARD = """
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I RESET gin_pending_list_limit', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'gin_pending_list_limit not reset on database %: not its owner', current_database();
END $$;
"""


class Migration(migrations.Migration):
    dependencies = [("leads", "0013_company_stats_pending")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
