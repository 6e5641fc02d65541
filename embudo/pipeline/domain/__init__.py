"""Pure rules of the pipeline context (no Django)."""
