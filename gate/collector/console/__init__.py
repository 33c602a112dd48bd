"""The operations console under /console/ (console.md): fleet, alerts, records, contact tracing,
devices and people, and the audit log, for the roles viewer < tracer < admin.

Every page needs a signed-in session (`gate.collector.roles.require_role`); sign-in is throttled
per account and per address (`throttle`); every search, trace, export and change is audited
(`gate.collector.audit`). Chinese (the default) and English, switchable.
"""
