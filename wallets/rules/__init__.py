"""Rule profiles: every threshold the sandbox applies, as data."""

from .profile import Profile, ProfileError, active_profile, load_profile

__all__ = ["Profile", "ProfileError", "active_profile", "load_profile"]
