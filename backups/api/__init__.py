"""The JSON API (SPEC §10, K1-K4): a thin layer over the services, rules and access helpers
that the pages use. Nothing here decides a rule: a refusal carries the `Refused`/`Decision`
reason the page shows."""
