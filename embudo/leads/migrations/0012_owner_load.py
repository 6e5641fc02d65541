"""leads_ownerload: each user's number of open leads, kept by triggers on leads_lead (see OwnerLoad).

Insert and delete: one set-based statement per statement, from the transition table (the import's COPY and
the seed insert thousands of leads per statement). Update: a row trigger whose WHEN lets through only the rows
whose owner changed or that opened/closed, checked without calling the function (a rescore of 1M leads
updates every row and must not pay a call per row; 0008 measured what a statement trigger on UPDATE costs).
Truncate: every count is zero. The increments and decrements of one statement go in user-id order, so two
transactions moving leads between the same two owners in opposite directions lock the rows in the same order.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

TRIGGERS = """
CREATE FUNCTION leads_owner_load_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO leads_ownerload (user_id, open_leads)
    SELECT owner_id, count(*) FROM owner_load_inserted WHERE owner_id IS NOT NULL AND is_open
    GROUP BY owner_id ORDER BY owner_id
    ON CONFLICT (user_id) DO UPDATE SET open_leads = leads_ownerload.open_leads + EXCLUDED.open_leads;
    RETURN NULL;
END $$;
CREATE FUNCTION leads_owner_load_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE leads_ownerload o SET open_leads = o.open_leads - d.n
      FROM (SELECT owner_id, count(*) AS n FROM owner_load_deleted WHERE owner_id IS NOT NULL AND is_open
            GROUP BY owner_id ORDER BY owner_id) d
     WHERE o.user_id = d.owner_id;
    RETURN NULL;
END $$;
CREATE FUNCTION leads_owner_load_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    -- The user whose open leads this row counted in, before and after the update (NULL: nobody's).
    counted_before integer := CASE WHEN OLD.is_open THEN OLD.owner_id END;
    counted_after integer := CASE WHEN NEW.is_open THEN NEW.owner_id END;
BEGIN
    IF counted_before IS NOT DISTINCT FROM counted_after THEN
        RETURN NULL;
    END IF;
    -- Lowest user id first (see the module's docstring).
    IF counted_after IS NOT NULL AND (counted_before IS NULL OR counted_after < counted_before) THEN
        INSERT INTO leads_ownerload (user_id, open_leads) VALUES (counted_after, 1)
        ON CONFLICT (user_id) DO UPDATE SET open_leads = leads_ownerload.open_leads + 1;
        counted_after := NULL;
    END IF;
    IF counted_before IS NOT NULL THEN
        UPDATE leads_ownerload SET open_leads = open_leads - 1 WHERE user_id = counted_before;
    END IF;
    IF counted_after IS NOT NULL THEN
        INSERT INTO leads_ownerload (user_id, open_leads) VALUES (counted_after, 1)
        ON CONFLICT (user_id) DO UPDATE SET open_leads = leads_ownerload.open_leads + 1;
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION leads_owner_load_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM leads_ownerload;
    RETURN NULL;
END $$;
CREATE TRIGGER lead_owner_load_insert AFTER INSERT ON leads_lead
    REFERENCING NEW TABLE AS owner_load_inserted FOR EACH STATEMENT EXECUTE FUNCTION leads_owner_load_insert();
CREATE TRIGGER lead_owner_load_delete AFTER DELETE ON leads_lead
    REFERENCING OLD TABLE AS owner_load_deleted FOR EACH STATEMENT EXECUTE FUNCTION leads_owner_load_delete();
CREATE TRIGGER lead_owner_load_update AFTER UPDATE ON leads_lead
    FOR EACH ROW WHEN (OLD.owner_id IS DISTINCT FROM NEW.owner_id OR OLD.is_open IS DISTINCT FROM NEW.is_open)
    EXECUTE FUNCTION leads_owner_load_update();
CREATE TRIGGER lead_owner_load_truncate AFTER TRUNCATE ON leads_lead
    FOR EACH STATEMENT EXECUTE FUNCTION leads_owner_load_truncate();
"""
DROP_TRIGGERS = """
DROP TRIGGER lead_owner_load_truncate ON leads_lead;
DROP TRIGGER lead_owner_load_update ON leads_lead;
DROP TRIGGER lead_owner_load_delete ON leads_lead;
DROP TRIGGER lead_owner_load_insert ON leads_lead;
DROP FUNCTION leads_owner_load_truncate();
DROP FUNCTION leads_owner_load_update();
DROP FUNCTION leads_owner_load_delete();
DROP FUNCTION leads_owner_load_insert();
"""
# The triggers and the first count in one transaction, with lead writes held off meanwhile (SHARE mode lets
# readers in): a lead written between the count and the triggers would be missed.
BACKFILL = """
LOCK TABLE leads_lead IN SHARE MODE;
INSERT INTO leads_ownerload (user_id, open_leads)
SELECT owner_id, count(*) FROM leads_lead WHERE owner_id IS NOT NULL AND is_open GROUP BY owner_id;
"""


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("leads", "0011_lead_is_open"),
    ]

    operations = [
        migrations.CreateModel(
            name="OwnerLoad",
            fields=[
                (
                    "user",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="lead_load",
                        serialize=False,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("open_leads", models.IntegerField(default=0)),
            ],
        ),
        migrations.RunSQL(BACKFILL + TRIGGERS, DROP_TRIGGERS),
    ]
