"""Supervision alerts: raised by tier 1 and the casino rules, worked by supervisors."""
