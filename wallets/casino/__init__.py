"""Macau casino supervision: the casino registry, the cage and its rules, exclusions, gaming days."""
