"""The collector's URLs: the device API of upload.md under /v1/, the console under /console/."""

from __future__ import annotations

import importlib.util

from django.urls import include, path

from gate.collector import api

urlpatterns = [
    path("v1/scans", api.post_scans),
    path("v1/alerts", api.post_alerts),
    path("v1/heartbeat", api.post_heartbeat),
    path("v1/trustlist", api.get_trustlist),
    path("v1/statuslist", api.get_statuslist),
    path("v1/bulletin", api.get_bulletin),
    path("healthz", api.healthz),
    path("", api.root),
    path("status", api.root),
]

handler404 = "gate.collector.api.not_found"
handler500 = "gate.collector.api.server_error"

if importlib.util.find_spec("gate.collector.console.urls") is not None:
    urlpatterns.append(path("console/", include("gate.collector.console.urls")))
    # the console's pages answer refusals inside its frame; everything else as the API does
    handler400 = "gate.collector.console.views.errors.bad_request"
    handler403 = "gate.collector.console.views.errors.forbidden"
    handler404 = "gate.collector.console.views.errors.not_found"
    handler500 = "gate.collector.console.views.errors.server_error"
