"""Directives (spec/directives.md): what the operations centre tells its gates.

- `keys`: directive keys, delegated by the trust anchor through the trust list;
- `bulletin`: a signed bulletin's shape, signature, scope and the settings it sets;
- `book`: the bulletins a gate has accepted, and the one in force at a given time;
- `venue_card`: the `JKMV1:` venue card a technician shows a gate's camera;
- `card_flow`: the kiosk's side of a venue card: show, wait for the attendant's button, apply.
"""
