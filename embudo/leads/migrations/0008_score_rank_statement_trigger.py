"""The score-rank update trigger becomes one statement per statement (from the transition tables), not one
per changed row: a batch of behaviour events rescoring ~250 leads spent ~25 ms of PostgreSQL CPU in 250
PL/pgSQL calls, one UPDATE each (bench scoring). Every UPDATE of leads_lead now keeps its old and new rows
for the trigger (a tuplestore), which costs little next to the update itself."""

from django.db import migrations

STATEMENT_TRIGGER = """
DROP TRIGGER lead_score_rank_update ON leads_lead;
CREATE OR REPLACE FUNCTION leads_score_rank_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE leads_leadscorerank r SET score = n.score
      FROM updated_leads_new n JOIN updated_leads_old o ON o.id = n.id
     WHERE r.lead_id = n.id AND n.score IS DISTINCT FROM o.score;
    RETURN NULL;
END $$;
CREATE TRIGGER lead_score_rank_update AFTER UPDATE ON leads_lead
    REFERENCING OLD TABLE AS updated_leads_old NEW TABLE AS updated_leads_new
    FOR EACH STATEMENT EXECUTE FUNCTION leads_score_rank_update();
"""
ROW_TRIGGER = """
DROP TRIGGER lead_score_rank_update ON leads_lead;
CREATE OR REPLACE FUNCTION leads_score_rank_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE leads_leadscorerank SET score = NEW.score WHERE lead_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER lead_score_rank_update AFTER UPDATE OF score ON leads_lead
    FOR EACH ROW WHEN (OLD.score IS DISTINCT FROM NEW.score) EXECUTE FUNCTION leads_score_rank_update();
"""


class Migration(migrations.Migration):
    dependencies = [("leads", "0007_score_rank")]

    operations = [migrations.RunSQL(STATEMENT_TRIGGER, ROW_TRIGGER)]
