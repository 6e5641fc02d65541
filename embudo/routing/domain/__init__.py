"""Pure routing logic (no Django): rule evaluation, working hours, eligibility and fair picking."""
