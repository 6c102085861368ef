"""REST endpoints for 双十工作日: visits (with their review) and the problem ledger."""
