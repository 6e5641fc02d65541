"""The per-IP rate-limit index of public forms holds form submissions only.

Submissions of the other channels (API, CSV imports, webhooks) have no form, yet each added an entry
``(NULL, ip, received_at)`` that no query reads: a million per 1M-row import. The forms' queries name
their form (``form_id = …``), which the planner proves implies the index's condition.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('capture', '0003_import_timeline_checkpoint_of_earlier_jobs'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='submission',
            name='submission_form_ip_idx',
        ),
        migrations.AddIndex(
            model_name='submission',
            index=models.Index(condition=models.Q(('form_id__isnull', False)), fields=['form_id', 'ip', '-received_at'], name='submission_form_ip_idx'),
        ),
    ]
