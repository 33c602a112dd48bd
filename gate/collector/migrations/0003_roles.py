"""The three roles of console.md as auth Groups: viewer, tracer, admin."""

from django.db import migrations

ROLES = ("viewer", "tracer", "admin")


def make_groups(apps, schema_editor):  # noqa: ANN001 (Django's signature)
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.using(schema_editor.connection.alias).get_or_create(name=name)


class Migration(migrations.Migration):

    dependencies = [
        ("collector", "0002_postgres_partitions"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(make_groups, migrations.RunPython.noop)]
