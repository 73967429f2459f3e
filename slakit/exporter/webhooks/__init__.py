"""Webhooks: HMAC signing and verification, secrets loading, correlation ids and the delivery receiver."""
