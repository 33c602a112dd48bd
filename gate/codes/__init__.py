"""What a health code says and whether to believe it (spec/health-code.md, spec/trust-list.md)."""
