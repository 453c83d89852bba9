from __future__ import annotations

from wallets.rules import active_profile
from wallets.rules.profile import Profile, rules_document, select_profile

from ..auth import roles
from ..schemas.rules import ProfileSelect, RulesOut
from ..writes import read, write
from .common import WRITE_PROBLEMS, Blueprint, problems
from .sandbox import ALL_ROLES

blp = Blueprint(
    "rules",
    __name__,
    url_prefix="/v1",
    description="Rule profiles: every threshold the sandbox applies",
)


def _rules(tx, p: Profile) -> dict:
    return rules_document(p)


@blp.route("/rules", methods=["GET"])
@blp.response(200, RulesOut)
@problems(blp)
@roles(*ALL_ROLES)
def get_rules():
    """The effective rule profile: every limit, threshold, rate and share it sets."""
    return read(lambda tx: _rules(tx, active_profile(tx)))


@blp.route("/sandbox/profile", methods=["PUT"])
@blp.arguments(ProfileSelect())
@blp.response(200, RulesOut)
@problems(blp, *WRITE_PROBLEMS)
@roles("admin")
def set_profile(body):
    """Make a shipped profile (`name`: default or macau) or a document of your own
    the sandbox's rule profile. It applies from the next request on."""
    return write(
        lambda tx: select_profile(tx, name=body.get("name"), document=body.get("document")),
        RulesOut,
        status=200,
        present=_rules,
    )
