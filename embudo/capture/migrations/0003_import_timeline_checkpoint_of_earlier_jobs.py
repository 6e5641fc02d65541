"""Jobs that ran before the timeline writer wrote their events inside each batch: their checkpoint starts past
every submission stored so far, so that resuming one (a job that failed before the upgrade) does not write its
committed batches' ``LeadCreated`` / ``LeadCaptured`` events a second time."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("capture", "0002_import_timeline_checkpoint")]

    operations = [
        migrations.RunSQL(
            "UPDATE capture_importjob SET timeline_through_submission_id = "
            "(SELECT coalesce(max(id), 0) FROM capture_submission) WHERE timeline_through_submission_id = 0",
            migrations.RunSQL.noop,
        )
    ]
