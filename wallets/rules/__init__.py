"""Rule profiles: every threshold the sandbox applies, as data."""

from .profile import Limits, Profile, ProfileError, active_profile, casino_rules, load_profile

__all__ = ["Limits", "Profile", "ProfileError", "active_profile", "casino_rules", "load_profile"]
