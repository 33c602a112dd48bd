"""The technician's setup page (spec/setup.md): its own HTTPS process, `gate setup serve`.

Modules: `auth` (password hash, sign-in lockout, sessions), `edit` (validated, comment-keeping
changes to the configuration file and the change log), `liveview` (camera frames from the kiosk
with found codes outlined), `service` (service mode as the setup service runs it), `state` (what
the app works on), `api` (the Flask blueprints: page, sign-in, settings, hardware), `app` (the app:
access rules and the one error mapping), `server` (cheroot, TLS handshakes off the accept loop),
`check` (the doctor's line about the setup page, its addresses and its certificate), `doctor` (the
doctor's report with the running kiosk).
"""
