#!/usr/bin/env python3
"""Agent Card signing with the official a2a-sdk, for warden-trust's interop tests.

Every subcommand reads one JSON document on stdin and prints one on stdout.
Exit codes: 0 success, 1 "signature does not verify" (verify only),
2 usage or unexpected errors.

  keygen  {"alg": A, "kid": K}
        Generates a key for A (ES256, ES384, EdDSA, RS256, PS256; RSA-2048)
        with `cryptography` and prints {"private_pem": PKCS#8 PEM,
        "private_jwk": {...}, "jwk": {public JWK with kid, alg, use}}.

  sign    {"card": {...}, "private_pem": P, "alg": A, "kid": K, "jku"?: U,
           "form"?: "sdk" | "json-dumps"}
        form "sdk" (default): parses the card into the SDK's AgentCard
        (unknown fields are an error), signs it with
        a2a.utils.signing.create_agent_card_signer and prints
        {"card": MessageToDict(signed card)}.
        form "json-dumps": what a2a-sdk 1.0-1.2 signed (the same empties
        dropped, then json.dumps(sort_keys=True, separators=(',', ':'))),
        signed with PyJWT's api_jws like the SDK does; same output.

  verify  {"card_json": raw card text, "jwk": {public JWK}, "algorithms": [...]}
        Parses the card text into AgentCard and runs the SDK's
        create_signature_verifier, the key provider returning the JWK when
        the kid matches. Prints {"ok": true} (exit 0) or
        {"ok": false, "error": "..."} (exit 1).

  canonical {"card": {...}}
        Prints {"python_sdk": the SDK's own canonical text,
        "json_dumps": the a2a-sdk 1.0-1.2 canonical text}.
"""

from __future__ import annotations

import json
import sys

from a2a.types import AgentCard, AgentCardSignature
from a2a.utils import signing
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from google.protobuf.json_format import MessageToDict, ParseDict
from jwt import api_jws
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from jwt.api_jwk import PyJWK
from jwt.exceptions import PyJWTError


def new_key(alg: str):
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1()), ECAlgorithm
    if alg == "ES384":
        return ec.generate_private_key(ec.SECP384R1()), ECAlgorithm
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate(), OKPAlgorithm
    if alg in ("RS256", "PS256"):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048), RSAAlgorithm
    raise ValueError(f"unsupported alg {alg}")


def keygen(req: dict) -> dict:
    alg, kid = req["alg"], req["kid"]
    key, algorithm = new_key(alg)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    private_jwk = json.loads(algorithm.to_jwk(key))
    public_jwk = json.loads(algorithm.to_jwk(key.public_key()))
    public_jwk.update({"kid": kid, "alg": alg, "use": "sig"})
    return {"private_pem": pem, "private_jwk": private_jwk, "jwk": public_jwk}


def parse_card(card: dict) -> AgentCard:
    # Strict: a member the SDK does not know is an error, not silently dropped.
    return ParseDict(card, AgentCard())


def json_dumps_canonical(card: AgentCard) -> str:
    """The payload a2a-sdk 1.0-1.2 signed (its `canonicalize_agent_card`)."""
    card_dict = MessageToDict(card)
    card_dict.pop("signatures", None)
    cleaned = signing._clean_empty(card_dict) or {}
    return json.dumps(cleaned, separators=(",", ":"), sort_keys=True)


def sign(req: dict) -> dict:
    card = parse_card(req["card"])
    header = {"alg": req["alg"], "kid": req["kid"], "typ": "JOSE"}
    if req.get("jku"):
        header["jku"] = req["jku"]
    form = req.get("form", "sdk")
    if form == "sdk":
        signer = signing.create_agent_card_signer(
            signing_key=req["private_pem"], protected_header=header
        )
        signed = signer(card)
    elif form == "json-dumps":
        token = api_jws.encode(
            payload=json_dumps_canonical(card).encode("utf-8"),
            key=req["private_pem"],
            algorithm=req["alg"],
            headers=header,
        )
        protected, _, signature = token.split(".")
        card.signatures.append(AgentCardSignature(protected=protected, signature=signature))
        signed = card
    else:
        raise ValueError(f"unknown form {form}")
    return {"card": MessageToDict(signed)}


def verify(req: dict) -> tuple[dict, int]:
    jwk = req["jwk"]
    card = parse_card(json.loads(req["card_json"]))

    def key_provider(kid, jku):
        if kid != jwk.get("kid"):
            raise PyJWTError(f"unknown kid {kid!r}")
        return PyJWK(jwk)

    verifier = signing.create_signature_verifier(key_provider, req["algorithms"])
    try:
        verifier(card)
    except signing.SignatureVerificationError as e:
        return {"ok": False, "error": f"{type(e).__name__}: {e}"}, 1
    return {"ok": True}, 0


def canonical(req: dict) -> dict:
    card = parse_card(req["card"])
    return {
        "python_sdk": signing._canonicalize_agent_card(card),
        "json_dumps": json_dumps_canonical(card),
    }


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    command = sys.argv[1]
    req = json.load(sys.stdin)
    code = 0
    if command == "keygen":
        out = keygen(req)
    elif command == "sign":
        out = sign(req)
    elif command == "verify":
        out, code = verify(req)
    elif command == "canonical":
        out = canonical(req)
    else:
        print(f"unknown command {command}", file=sys.stderr)
        return 2
    # ensure_ascii=False: the card text is handed over as it is, UTF-8.
    json.dump(out, sys.stdout, ensure_ascii=False)
    return code


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # noqa: BLE001 - any failure is a harness error
        print(f"card_signing.py: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(2)
