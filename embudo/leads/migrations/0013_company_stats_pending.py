"""leads_companystatspending: companies whose lead counts must be recounted, appended by triggers on leads_lead.

Insert and delete: one statement-level trigger each, one row per distinct company of the statement's transition
table (the import's bulk statements touch thousands of leads at once). Update: a row trigger whose WHEN lets
through only a change of company (or of created_at, which last_lead_at reads), checked without calling the
function. Truncate: every company that still shows a count. Plain appends: no conflict, no lock, so captures
into one company never wait for each other. ``leads.services.drain_company_stats`` recounts and deletes them.

The backfill queues every company once: counts had drifted (deletions never refreshed them), and the first
drain sets them right.
"""

from django.db import migrations, models

TRIGGERS = """
CREATE FUNCTION leads_company_stats_inserted_or_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- company_stats_leads: the new rows of an insert, the old rows of a delete (both triggers name it so).
    INSERT INTO leads_companystatspending (company_id)
    SELECT DISTINCT company_id FROM company_stats_leads WHERE company_id IS NOT NULL;
    RETURN NULL;
END $$;
CREATE FUNCTION leads_company_stats_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.company_id IS NOT NULL THEN
        INSERT INTO leads_companystatspending (company_id) VALUES (OLD.company_id);
    END IF;
    IF NEW.company_id IS NOT NULL AND NEW.company_id IS DISTINCT FROM OLD.company_id THEN
        INSERT INTO leads_companystatspending (company_id) VALUES (NEW.company_id);
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION leads_company_stats_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO leads_companystatspending (company_id)
    SELECT id FROM leads_company WHERE lead_count <> 0 OR last_lead_at IS NOT NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER lead_company_stats_insert AFTER INSERT ON leads_lead
    REFERENCING NEW TABLE AS company_stats_leads FOR EACH STATEMENT
    EXECUTE FUNCTION leads_company_stats_inserted_or_deleted();
CREATE TRIGGER lead_company_stats_delete AFTER DELETE ON leads_lead
    REFERENCING OLD TABLE AS company_stats_leads FOR EACH STATEMENT
    EXECUTE FUNCTION leads_company_stats_inserted_or_deleted();
CREATE TRIGGER lead_company_stats_update AFTER UPDATE ON leads_lead
    FOR EACH ROW WHEN (OLD.company_id IS DISTINCT FROM NEW.company_id
                       OR (NEW.company_id IS NOT NULL AND OLD.created_at IS DISTINCT FROM NEW.created_at))
    EXECUTE FUNCTION leads_company_stats_updated();
CREATE TRIGGER lead_company_stats_truncate AFTER TRUNCATE ON leads_lead
    FOR EACH STATEMENT EXECUTE FUNCTION leads_company_stats_truncated();
INSERT INTO leads_companystatspending (company_id) SELECT id FROM leads_company ORDER BY id;
"""
DROP_TRIGGERS = """
DROP TRIGGER lead_company_stats_truncate ON leads_lead;
DROP TRIGGER lead_company_stats_update ON leads_lead;
DROP TRIGGER lead_company_stats_delete ON leads_lead;
DROP TRIGGER lead_company_stats_insert ON leads_lead;
DROP FUNCTION leads_company_stats_truncated();
DROP FUNCTION leads_company_stats_updated();
DROP FUNCTION leads_company_stats_inserted_or_deleted();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0012_owner_load"),
    ]

    operations = [
        migrations.CreateModel(
            name="CompanyStatsPending",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("company_id", models.BigIntegerField()),
            ],
        ),
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
    ]
