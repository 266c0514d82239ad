#!/usr/bin/env python3
"""Sealed mailbox messages with a JOSE library Warden did not write: jwcrypto.

Run by crates/warden-mailbox/tests/seal_interop.rs, and a recipe for a
recipient that holds its key in Python (docs/mailbox.md, "Sealing").

Commands (one JSON object on stdin, one on stdout):

* ``keygen``: ``{}`` -> ``{"private": JWK, "public": JWK}``, an X25519 key
  pair made by jwcrypto, ``kid`` its RFC 7638 thumbprint (what Warden
  requires of a published key).
* ``seal``: ``{"jwk": public JWK, "plaintext": str}`` -> ``{"compact": str}``,
  a JWE compact serialization, ``alg`` ECDH-ES, ``enc`` A256GCM, the
  recipient's ``kid`` in the protected header.
* ``open``: ``{"jwk": private JWK, "compact": str}`` -> ``{"plaintext": str,
  "header": {...}}`` (the protected header, as jwcrypto read it); exits 1
  with ``{"error": ...}`` when jwcrypto refuses the message.
"""

import json
import sys

from jwcrypto import jwe, jwk
from jwcrypto.common import json_decode

# Exactly what Warden seals with: a recipient should accept nothing else.
ALLOWED = ["ECDH-ES", "A256GCM"]


def keygen(_req: dict) -> dict:
    key = jwk.JWK.generate(kty="OKP", crv="X25519")
    kid = key.thumbprint()  # RFC 7638, SHA-256
    private = json_decode(key.export_private())
    public = json_decode(key.export_public())
    private["kid"] = public["kid"] = kid
    return {"private": private, "public": public}


def seal(req: dict) -> dict:
    recipient = jwk.JWK(**req["jwk"])
    protected = {"alg": "ECDH-ES", "enc": "A256GCM", "kid": req["jwk"]["kid"]}
    token = jwe.JWE(req["plaintext"].encode(), protected=protected)
    token.add_recipient(recipient)
    return {"compact": token.serialize(compact=True)}


def open_(req: dict) -> dict:
    key = jwk.JWK(**req["jwk"])
    token = jwe.JWE(algs=ALLOWED)
    token.deserialize(req["compact"], key=key)
    return {
        "plaintext": token.payload.decode(),
        "header": json_decode(token.objects["protected"]),
    }


def main() -> int:
    commands = {"keygen": keygen, "seal": seal, "open": open_}
    if len(sys.argv) != 2 or sys.argv[1] not in commands:
        print("usage: mail_seal.py keygen|seal|open < request.json", file=sys.stderr)
        return 2
    req = json.load(sys.stdin)
    try:
        out = commands[sys.argv[1]](req)
    except Exception as e:  # jwcrypto's refusals: report, exit 1
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
        return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
