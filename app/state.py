"""Per-app objects: the database and settings, kept in app.extensions."""

from __future__ import annotations

from flask import current_app

from wallets.core.config import Settings
from wallets.core.db import Database


def database() -> Database:
    return current_app.extensions["ecny"]["db"]


def settings() -> Settings:
    return current_app.extensions["ecny"]["settings"]
