"""Pure scoring logic (no Django): grades, decay, rounding, the reference rule evaluator, SQL builders."""
