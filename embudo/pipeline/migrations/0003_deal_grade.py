"""Deal.grade: the lead's grade on the deal (the grade-filtered board reads only pipeline_deal).

Backfill: only deals whose lead is not cold are written (the column's default is "cold"), before the indexes are
built. The checkpoint of ``pipeline.sync_grades`` starts at the newest GradeChanged event: everything before it
is in the backfill."""

from django.conf import settings
from django.db import migrations, models

BACKFILL = """
UPDATE pipeline_deal d SET grade = l.grade
  FROM leads_lead l
 WHERE d.lead_id = l.id AND d.grade IS DISTINCT FROM l.grade
"""
CHECKPOINT = """
INSERT INTO pipeline_gradesync (name, last_event_id, recheck_from_id, recent_event_id, synced_at, rotated_at)
SELECT 'deals', m.id, m.id, m.id, now(), now()
  FROM (SELECT coalesce(max(id), 0) AS id FROM core_domainevent WHERE type = 'scoring.GradeChanged') m
ON CONFLICT (name) DO NOTHING
"""


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_users_teams_tokens'),
        ('leads', '0006_accent_insensitive_search'),
        ('core', '0002_domain_event'),
        ('pipeline', '0002_default_stages'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='GradeSync',
            fields=[
                ('name', models.CharField(max_length=40, primary_key=True, serialize=False)),
                ('last_event_id', models.BigIntegerField(default=0)),
                ('synced_at', models.DateTimeField(blank=True, null=True)),
                ('recheck_from_id', models.BigIntegerField(default=0)),
                ('recent_event_id', models.BigIntegerField(default=0)),
                ('rotated_at', models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.AddField(
            model_name='deal',
            name='grade',
            field=models.CharField(db_default='cold', default='cold', max_length=10, verbose_name='grade'),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.RunSQL(CHECKPOINT, migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name='deal',
            index=models.Index(fields=['owner', 'grade', 'stage', '-updated_at'], include=('amount',), name='deal_owner_grade_idx'),
        ),
        migrations.AddIndex(
            model_name='deal',
            index=models.Index(fields=['team', 'grade', 'stage', '-updated_at'], include=('amount',), name='deal_team_grade_idx'),
        ),
    ]
