"""Credentials from other issuers at the gate (credentials.md): who the holder is (a pseudonym),
and whether the venue accepts the credential (CertLogic rule sets)."""
