# #16: a product id is the first column of the unique (product, key) on these three tables;
# its own index is redundant, and every restored issue wrote it twice (COPY, publish).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("backups", "0018_backupblob_source_key"),
    ]

    operations = [
        migrations.AlterField(
            model_name="jiraissue",
            name="product",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="jira_issues",
                to="backups.product",
            ),
        ),
        migrations.AlterField(
            model_name="jiraproject",
            name="product",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="jira_projects",
                to="backups.product",
            ),
        ),
        migrations.AlterField(
            model_name="space",
            name="product",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="spaces",
                to="backups.product",
            ),
        ),
    ]
