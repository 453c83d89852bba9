from __future__ import annotations

from wallets.rules import active_profile
from wallets.rules.profile import Profile, etag, rules_document, select_profile

from ..auth import roles
from ..openapi import takes_if_match
from ..schemas.rules import ProfileSelect, RulesOut
from ..writes import read, write
from .common import WRITE_PROBLEMS, Blueprint, etag_header, if_match, problems
from .sandbox import ALL_ROLES

blp = Blueprint(
    "rules",
    __name__,
    url_prefix="/v1",
    description="Rule profiles: every threshold the sandbox applies",
)


RULES_ETAG = etag_header("rule profile")


def _rules(tx, p: Profile) -> dict:
    return rules_document(p)


@blp.route("/rules", methods=["GET"])
@blp.response(200, RulesOut, headers=RULES_ETAG)
@problems(blp)
@roles(*ALL_ROLES)
def get_rules():
    """The effective rule profile: every limit, threshold, rate and share it sets.
    Its `ETag` is the one `PUT /v1/sandbox/profile` takes as `If-Match`."""
    p = read(active_profile)
    return _rules(None, p), 200, {"ETag": etag(p)}


@blp.route("/sandbox/profile", methods=["PUT"])
@blp.arguments(ProfileSelect())
@blp.response(200, RulesOut, headers=RULES_ETAG)
@problems(blp, *WRITE_PROBLEMS, 412)
@takes_if_match(required=False)
@roles("admin")
def set_profile(body):
    """Make a shipped profile (`name`: default or macau) or a document of your own
    the sandbox's rule profile. It applies from the next request on. `If-Match`
    is optional: when sent, it must match the ETag of the active profile
    (`GET /v1/rules`)."""
    precondition = if_match()
    return write(
        lambda tx: select_profile(
            tx, name=body.get("name"), document=body.get("document"), if_match=precondition
        ),
        RulesOut,
        status=200,
        present=_rules,
        headers=lambda tx, p: {"ETag": etag(p)},
    )
