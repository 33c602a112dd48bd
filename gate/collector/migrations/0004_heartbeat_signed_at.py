"""A heartbeat keeps its signed X-Gate-Timestamp, so an older one (a replay) cannot replace it."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [("collector", "0003_roles")]

    operations = [
        migrations.AddField(model_name="heartbeat", name="signed_at",
                            field=models.BigIntegerField(default=0)),
    ]
