"""Sign-in throttling counts attempts (before the password is checked) in one counter per account
and per address, instead of a row per failure counted after the check (which a burst could race)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [("console", "0001_initial")]

    operations = [
        migrations.CreateModel(
            name="SignInCounter",
            fields=[
                ("name", models.CharField(max_length=200, primary_key=True, serialize=False)),
                ("window_start", models.FloatField(db_index=True)),
                ("attempts", models.IntegerField()),
            ],
            options={"db_table": "console_signin_counter"},
        ),
        migrations.DeleteModel(name="SignInFailure"),
    ]
