"""Issue 8: the whole product checked for leaks, audit, faults, fuzzing, security and backups."""
