"""Back to a row trigger for score changes (0008's statement trigger made every UPDATE of leads_lead keep
its old and new rows: the import's lead updates went from 9 to 65 s). Bulk writers of scores (the scoring
engine's event batches and rescores) update leads_leadscorerank themselves in the same statement, set-based,
and say so with ``set_config('embudo.score_rank_written', 'on', true)`` for that statement: the trigger's
WHEN skips their rows without calling the function (~100 µs per row otherwise)."""

from django.db import migrations

ROW_TRIGGER = """
DROP TRIGGER lead_score_rank_update ON leads_lead;
CREATE OR REPLACE FUNCTION leads_score_rank_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE leads_leadscorerank SET score = NEW.score WHERE lead_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER lead_score_rank_update AFTER UPDATE OF score ON leads_lead
    FOR EACH ROW WHEN (OLD.score IS DISTINCT FROM NEW.score
                       AND current_setting('embudo.score_rank_written', true) IS DISTINCT FROM 'on')
    EXECUTE FUNCTION leads_score_rank_update();
"""
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


class Migration(migrations.Migration):
    dependencies = [("leads", "0008_score_rank_statement_trigger")]

    operations = [migrations.RunSQL(ROW_TRIGGER, STATEMENT_TRIGGER)]
