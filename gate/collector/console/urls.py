"""The console's URLs, under /console/ (namespace ``console``)."""

from __future__ import annotations

from django.urls import include, path

from gate.collector.console.views import (alerts, audit_log, auth, directives, fleet, people, records,
                                          tracing)

app_name = "console"

urlpatterns = [
    path("", auth.home, name="home"),
    path("login", auth.sign_in, name="login"),
    path("logout", auth.sign_out, name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("fleet", fleet.fleet, name="fleet"),
    path("alerts", alerts.alerts, name="alerts"),
    path("api/alerts", alerts.alerts_json, name="alerts_json"),
    path("alerts/paging", alerts.set_paging, name="paging"),
    path("alerts/<str:record_id>/acknowledge", alerts.acknowledge, name="acknowledge"),
    path("records", records.records, name="records"),
    path("records.csv", records.records_csv, name="records_csv"),
    path("records/<str:record_id>", records.record_detail, name="record"),
    path("trace", tracing.trace, name="trace"),
    path("trace.csv", tracing.trace_csv, name="trace_csv"),
    path("devices", people.devices, name="devices"),
    path("devices/<path:device_id>/disable", people.device_enabled, {"on": False},
         name="device_disable"),
    path("devices/<path:device_id>/enable", people.device_enabled, {"on": True},
         name="device_enable"),
    path("users", people.users, name="users"),
    path("users/<int:user_id>/role", people.user_role, name="user_role"),
    path("users/<int:user_id>/disable", people.user_active, {"on": False}, name="user_disable"),
    path("users/<int:user_id>/enable", people.user_active, {"on": True}, name="user_enable"),
    path("audit", audit_log.audit_log, name="audit"),
    path("bulletins", directives.bulletins_page, name="bulletins"),
    path("venue-cards", directives.venue_cards, name="venue_cards"),
]
