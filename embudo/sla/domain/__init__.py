"""Pure SLA rules (no Django): the business-hours calendar."""
