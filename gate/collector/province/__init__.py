"""The province (spec/province.md): every city's collector tables in one PostgreSQL, by PostgreSQL's
own logical replication, and the console pages that read them across cities.

- `site`: the city's side, naming itself once (`gate collector set-site`) and publishing its tables.
- `schema`: the province's side of the tables (every row keyed by ``(site_id, city key)``, a home
  for every month of records).
- `cities`: subscribing to a city (`gate collector province add-city`) and how far behind each is.
- `tracing`, `records`, `alerts`, `fleet`: tracing, record search, alerts and the fleet of fleets
  across cities.
- `replica`: a city's console reading from a streaming replica (``serve --db-read``).
- `views`, `urls`, templates: the province's console pages under ``/console/province/``.
"""

PUBLICATION = "gate_province"
# what travels: records, alerts (with acknowledgements), devices, latest heartbeats, the audit log
PUBLISHED_TABLES: tuple[str, ...] = ("collector_record", "collector_alert", "collector_device",
                                     "collector_heartbeat", "collector_audit")
# each table's key on the city; at the province the key is (site_id, *this)
CITY_KEYS: dict[str, tuple[str, ...]] = {
    "collector_record": ("id", "scanned_at"),
    "collector_alert": ("record_id",),
    "collector_device": ("device_id",),
    "collector_heartbeat": ("device_id",),
    "collector_audit": ("id",),
}
