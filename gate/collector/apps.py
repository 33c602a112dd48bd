"""The collector as a Django application (label ``collector``)."""

from django.apps import AppConfig


class CollectorConfig(AppConfig):
    name = "gate.collector"
    label = "collector"
    verbose_name = "Gate collector"
    default_auto_field = "django.db.models.BigAutoField"
