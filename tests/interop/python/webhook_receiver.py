#!/usr/bin/env python3
"""Receiving Warden's push notifications in Python: the documented recipes,
run by crates/warden-webhooks/tests/interop.rs.

Two receivers, as docs/webhooks.md describes them:

* with the subscription's HMAC secret (``whsec_...``): the official Standard
  Webhooks library, ``standardwebhooks``, unchanged, plus the webhook id kept
  as an idempotency key;
* with Warden's public keys (its JWKS): PyJWT and ``cryptography`` check the
  notification JWT (key, ``aud`` = this receiver's URL, freshness, ``jti``,
  body hash) and the ``v1a`` Ed25519 signature.

Driver: reads one JSON object on stdin,
``{"secret", "jwks", "url", "issuer", "deliveries": [{"name", "headers",
"body_b64"}]}``, verifies the deliveries in order with one receiver of each
kind (so a repeated one is a replay), and prints one JSON line per delivery:
``{"name", "library", "hmac", "keys", "taskId"}`` where ``library`` is what
``standardwebhooks`` alone said and ``hmac`` / ``keys`` are ``"ok"`` or the
refusal reason.
"""

import json
import sys

# --- recipe: keys (docs/webhooks.md copies this block; a test keeps them equal)
import base64
import hashlib
import hmac
import time

import jwt  # PyJWT, with cryptography for EdDSA
from cryptography.exceptions import InvalidSignature


class Refused(Exception):
    """A notification this receiver must not act on; ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class WardenWebhookVerifier:
    """Checks Warden's notifications with Warden's public keys (its JWKS)."""

    def __init__(self, jwks: dict, receiver_url: str, issuer: str | None = None, tolerance: int = 300):
        # Only Warden's webhook keys: its token and card keys share the JWKS.
        self.keys = {
            k["kid"]: jwt.PyJWK(k, algorithm="EdDSA")
            for k in jwks.get("keys", [])
            if str(k.get("kid", "")).startswith("webhook-") and k.get("crv") == "Ed25519"
        }
        self.url = receiver_url  # exactly as registered: the JWT's aud
        self.issuer = issuer  # Warden's public URL, if you pin it
        self.tolerance = tolerance  # seconds either side of now
        self.seen: dict[str, int] = {}  # webhook id -> when it can be forgotten

    def verify(self, body: bytes, headers: dict, now: int | None = None) -> dict:
        """Returns the JWT's claims (check ``taskId`` is a task you expect)."""
        now = int(time.time()) if now is None else now
        h = {k.lower(): v for k, v in headers.items()}
        msg_id = h.get("webhook-id", "")
        ts = h.get("webhook-timestamp", "")
        signatures = h.get("webhook-signature", "")
        token = h.get("warden-notification-jwt", "")
        if not (msg_id and signatures and token) or not ts.isdigit() or len(ts) > 19 or "." in msg_id:
            raise Refused("malformed")
        ts = int(ts)
        if ts < now - self.tolerance:
            raise Refused("stale")
        if ts > now + self.tolerance:
            raise Refused("future")

        # 1. The JWT: Warden's webhook key, meant for this URL, about this body.
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise Refused("malformed")
        key = self.keys.get(header.get("kid"))
        if key is None:
            raise Refused("unknown_key")
        if header.get("typ") != "warden-notification+jwt":
            raise Refused("malformed")
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=["EdDSA"],
                audience=self.url,
                issuer=self.issuer,
                leeway=self.tolerance,
                options={"require": ["iss", "aud", "iat", "exp", "jti"]},
            )
        except jwt.InvalidAudienceError:
            raise Refused("wrong_audience")
        except jwt.InvalidIssuerError:
            raise Refused("wrong_issuer")
        except jwt.ExpiredSignatureError:
            raise Refused("stale")
        except jwt.ImmatureSignatureError:
            raise Refused("future")
        except jwt.InvalidSignatureError:
            raise Refused("bad_signature")
        except jwt.InvalidTokenError:
            raise Refused("malformed")
        if now > claims["exp"]:  # Warden's lifetime for the JWT, no leeway
            raise Refused("stale")
        if claims["jti"] != msg_id or claims["iat"] != ts:
            raise Refused("malformed")
        digest = base64.urlsafe_b64encode(hashlib.sha256(body).digest()).rstrip(b"=").decode()
        if not hmac.compare_digest(str(claims.get("body_sha256", "")), digest):
            raise Refused("body_swapped")

        # 2. The v1a signature over "{id}.{timestamp}.{body}", by the same key.
        content = f"{msg_id}.{ts}.".encode() + body
        if not any(self._v1a_verifies(key, entry, content) for entry in signatures.split(" ")):
            raise Refused("bad_signature")

        # 3. Each webhook id once (a retry keeps its id). Several workers:
        #    keep the ids in a shared store instead.
        self.seen = {i: until for i, until in self.seen.items() if until >= now}
        if msg_id in self.seen:
            raise Refused("replayed")
        self.seen[msg_id] = ts + self.tolerance
        return claims

    @staticmethod
    def _v1a_verifies(key, entry: str, content: bytes) -> bool:
        version, _, b64 = entry.partition(",")
        if version != "v1a":
            return False
        try:
            key.key.verify(base64.b64decode(b64, validate=True), content)
            return True
        except (InvalidSignature, ValueError):
            return False
# --- end of recipe: keys


# --- recipe: secret (docs/webhooks.md copies this block; a test keeps them equal)
import time

from standardwebhooks import Webhook, WebhookVerificationError


class Replayed(Exception):
    pass


class HmacReceiver:
    """Checks notifications with the subscription's secret (``whsec_...``)."""

    def __init__(self, secret: str):
        self.webhook = Webhook(secret)  # the official standardwebhooks library
        self.seen: dict[str, float] = {}

    def verify(self, body: bytes, headers: dict) -> None:
        # Signature and freshness (5 minutes either way); raises
        # WebhookVerificationError on a forged, stale or future notification.
        self.webhook.verify(body, headers, json_parse=False)
        # The library does not remember ids: each webhook id once.
        now = time.time()
        msg_id = {k.lower(): v for k, v in headers.items()}["webhook-id"]
        self.seen = {i: until for i, until in self.seen.items() if until >= now}
        if msg_id in self.seen:
            raise Replayed(msg_id)
        self.seen[msg_id] = now + 600
# --- end of recipe: secret


def main() -> int:
    case = json.load(sys.stdin)
    library = Webhook(case["secret"])
    by_secret = HmacReceiver(case["secret"])
    by_keys = WardenWebhookVerifier(case["jwks"], case["url"], case.get("issuer"))
    for d in case["deliveries"]:
        body = base64.b64decode(d["body_b64"])
        out = {"name": d["name"]}
        try:
            library.verify(body, d["headers"], json_parse=False)
            out["library"] = "ok"
        except WebhookVerificationError as e:
            out["library"] = f"refused: {e}"
        try:
            by_secret.verify(body, d["headers"])
            out["hmac"] = "ok"
        except WebhookVerificationError:
            out["hmac"] = "refused"
        except Replayed:
            out["hmac"] = "replayed"
        try:
            out["taskId"] = by_keys.verify(body, d["headers"]).get("taskId")
            out["keys"] = "ok"
        except Refused as e:
            out["keys"] = e.reason
        print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
