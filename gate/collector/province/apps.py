"""The province's console pages as a Django app (templates and translations; no models)."""

from django.apps import AppConfig


class ProvinceConfig(AppConfig):
    name = "gate.collector.province"
    label = "province"
    verbose_name = "Province"
