"""Events for testers' systems (docs/events.md): the feed of what changed
(``feed``), webhook endpoints (``endpoints``), their signatures
(``signing``, the Standard Webhooks scheme) and the dispatcher that delivers
them (``dispatch``). The events themselves are written by the use cases, in
their own transactions (wallets/core/outbox.py)."""
