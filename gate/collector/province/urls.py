"""The province's console pages, under /console/province/ (namespace ``province``)."""

from __future__ import annotations

from django.urls import path

from gate.collector.province import views

app_name = "province"

urlpatterns = [
    path("", views.cities, name="cities"),
    path("city/<str:site_id>", views.city, name="city"),
    path("alerts", views.alerts, name="alerts"),
    path("records", views.record_search, name="records"),
    path("trace", views.trace, name="trace"),
    path("trace.csv", views.trace_csv, name="trace_csv"),
]
