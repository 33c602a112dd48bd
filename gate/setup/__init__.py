"""The technician's setup page (spec/setup.md): its own HTTPS process, `gate setup serve`.

Modules: `auth` (password hash, sign-in lockout, sessions), `edit` (validated, comment-keeping
changes to the configuration file and their audit log), `liveview` (camera frames from the kiosk
with found codes outlined), `app` (the Flask app: page and JSON API), `server` (cheroot, TLS),
`check` (the doctor's line about the setup page and its certificate).
"""
