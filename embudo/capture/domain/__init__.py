"""Pure intake rules (no Django): normalization, enrichment, survivorship, attribution."""
