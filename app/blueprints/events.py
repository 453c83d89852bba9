"""The event feed and webhook endpoints (docs/events.md)."""

from __future__ import annotations

from wallets.events import endpoints as ep
from wallets.events import feed

from .. import present
from ..auth import current_principal, roles
from ..schemas.common import page_of
from ..schemas.events import (
    DeliveryListArgs,
    DeliveryOut,
    EventListArgs,
    EventOut,
    WebhookEndpointCreate,
    WebhookEndpointListArgs,
    WebhookEndpointOut,
)
from ..state import settings
from ..writes import read, write
from .common import WRITE_PROBLEMS, Blueprint, int_cursor, problems

blp = Blueprint(
    "events",
    __name__,
    url_prefix="/v1",
    description="What changed: the event feed, and webhook endpoints it is delivered to, signed",
)

EventPage = page_of(EventOut, "EventPage")
WebhookEndpointPage = page_of(WebhookEndpointOut, "WebhookEndpointPage")
DeliveryPage = page_of(DeliveryOut, "DeliveryPage")
ALL = ("admin", "central_bank", "operator", "merchant", "supervisor", "auditor")
# The auditor reads the feed; it makes and changes no endpoint.
WRITERS = ("admin", "central_bank", "operator", "merchant", "supervisor")


def _without_secret(document: dict) -> dict:
    return {**document, "secret": None}


@blp.route("/events", methods=["GET"])
@blp.arguments(EventListArgs(), location="query")
@blp.response(200, EventPage)
@problems(blp, 422)
@roles(*ALL)
def list_event_feed(args):
    """Events in commit order (oldest first), those the caller's scope may see
    (docs/events.md): pass `after` (the last `id` seen, or `next_after`) to
    read on; `type` narrows to some types."""
    after = int_cursor(args["after"])
    types = feed.check_types(args["type"].split(",")) if args.get("type") else None

    def run(tx):
        found = feed.list_events(
            tx, current_principal(), after=after, types=types, limit=args["limit"] + 1
        )
        return present.page(found, args["limit"], lambda e: e.id)

    return read(run)


@blp.route("/webhook-endpoints", methods=["POST"])
@blp.arguments(WebhookEndpointCreate())
@blp.response(201, WebhookEndpointOut)
@problems(blp, *WRITE_PROBLEMS)
@roles(*WRITERS)
def create_webhook_endpoint(body):
    """Make a webhook endpoint: the events the caller's scope may see (of
    `event_types`, or all) are POSTed to `url`, signed with `secret` — shown
    in this answer only (null in a replay with the same Idempotency-Key)."""
    return write(
        lambda tx: ep.create(
            tx,
            current_principal(),
            url=body["url"],
            event_types=body.get("event_types"),
            description=body.get("description"),
            allowed_hosts=settings().webhook_allowed_hosts,
        ),
        WebhookEndpointOut,
        stored=_without_secret,
    )


@blp.route("/webhook-endpoints", methods=["GET"])
@blp.arguments(WebhookEndpointListArgs(), location="query")
@blp.response(200, WebhookEndpointPage)
@problems(blp, 422)
@roles(*ALL)
def list_webhook_endpoints(args):
    """The webhook endpoints of the caller's scope (the admin: all), by id; never a secret."""
    after = int_cursor(args["after"])

    def run(tx):
        found = ep.list_(tx, current_principal(), after=after, limit=args["limit"] + 1)
        return present.page(found, args["limit"], lambda e: e.id)

    return read(run)


@blp.route("/webhook-endpoints/<id32:endpoint_id>", methods=["GET"])
@blp.response(200, WebhookEndpointOut)
@problems(blp, 404)
@roles(*ALL)
def get_webhook_endpoint(endpoint_id: int):
    """One webhook endpoint (never its secret)."""
    return read(lambda tx: ep.get(tx, current_principal(), endpoint_id))


@blp.route("/webhook-endpoints/<id32:endpoint_id>/disable", methods=["POST"])
@blp.response(200, WebhookEndpointOut)
@problems(blp, *WRITE_PROBLEMS)
@roles(*WRITERS)
def disable_webhook_endpoint(endpoint_id: int):
    """Stop delivering to the endpoint. Events still queue for it: enabling
    it again delivers them, in order."""
    return write(
        lambda tx: ep.disable(tx, current_principal(), endpoint_id), WebhookEndpointOut, status=200
    )


@blp.route("/webhook-endpoints/<id32:endpoint_id>/enable", methods=["POST"])
@blp.response(200, WebhookEndpointOut)
@problems(blp, *WRITE_PROBLEMS)
@roles(*WRITERS)
def enable_webhook_endpoint(endpoint_id: int):
    """Deliver to a disabled endpoint again (its failures forgiven), from its
    oldest pending delivery on."""
    return write(
        lambda tx: ep.enable(tx, current_principal(), endpoint_id), WebhookEndpointOut, status=200
    )


@blp.route("/webhook-endpoints/<id32:endpoint_id>/rotate-secret", methods=["POST"])
@blp.response(200, WebhookEndpointOut)
@problems(blp, *WRITE_PROBLEMS)
@roles(*WRITERS)
def rotate_webhook_secret(endpoint_id: int):
    """A new signing secret, shown in this answer only. For 24 hours of
    sandbox time deliveries carry two signatures, by the new secret and the old."""
    return write(
        lambda tx: ep.rotate_secret(tx, current_principal(), endpoint_id),
        WebhookEndpointOut,
        status=200,
        stored=_without_secret,
    )


@blp.route("/webhook-endpoints/<id32:endpoint_id>/deliveries", methods=["GET"])
@blp.arguments(DeliveryListArgs(), location="query")
@blp.response(200, DeliveryPage)
@problems(blp, 404, 422)
@roles(*ALL)
def list_webhook_deliveries(args, endpoint_id: int):
    """The endpoint's delivery log, oldest first: status, attempts, the last
    attempt's response status, latency and error, when the next is due."""
    after = int_cursor(args["after"])

    def run(tx):
        found = ep.deliveries(
            tx,
            current_principal(),
            endpoint_id,
            status=args.get("status"),
            after=after,
            limit=args["limit"] + 1,
        )
        return present.page(found, args["limit"], lambda d: d.id)

    return read(run)


@blp.route(
    "/webhook-endpoints/<id32:endpoint_id>/deliveries/<int:delivery_id>/redeliver",
    methods=["POST"],
)
@blp.response(201, DeliveryOut)
@problems(blp, *WRITE_PROBLEMS)
@roles(*WRITERS)
def redeliver_webhook(endpoint_id: int, delivery_id: int):
    """Send a delivery's event again: a new delivery, tried once at the next
    dispatch, ahead of the endpoint's queue (the same `webhook-id`)."""
    return write(
        lambda tx: ep.redeliver(tx, current_principal(), endpoint_id, delivery_id), DeliveryOut
    )
