"""Pure rules of behaviour tracking (no Django): event validation, origins, visitor ids."""
