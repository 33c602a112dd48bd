"""The console as a Django application (label ``console``)."""

from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "gate.collector.console"
    label = "console"
    verbose_name = "Gate console"
    default_auto_field = "django.db.models.BigAutoField"
