#!/usr/bin/env python3
"""PyJWT (cryptography backend) side of the warden-trust JWT/DPoP interop tests.

Subcommands (all print one JSON document on stdout; exit 1 on failure,
2 on usage errors):

  mint  --iss I --aud A --now T
        Generates ES256 (P-256), EdDSA (Ed25519), RS256 and PS256 (RSA-2048)
        keys, mints one `at+jwt` token per algorithm with `kid`, and prints
        {"jwks": {...}, "tokens": {"ES256": "...", ...}}.

  verify --iss I --aud A          (stdin: {"jwks": {...}, "tokens": [...]})
        Verifies each token with PyJWKSet/PyJWK and jwt.decode, the key picked
        by `kid` and the algorithm pinned to that key's `alg` (never the
        token's), with audience, issuer and exp/iat/jti required. Prints
        {"results": [{"ok": true, "claims": {...}} | {"ok": false, "error": "..."}]}.

  dpop  --htm M --htu U --now T [--access-token AT] [--nonce N]
        Generates ES256, EdDSA and PS256 keys and makes one DPoP proof
        (RFC 9449) per key with PyJWT, the public key in the `jwk` header.
        Prints {"proofs": [{"alg": .., "proof": .., "jkt": ..}]} where `jkt`
        is the RFC 7638 thumbprint computed here, independently of Warden.

  keygen --alg A --kid K
        Generates one key (ES256, EdDSA, RS256 or PS256) and prints
        {"jwk": {public JWK with kid, alg, use}, "private_pem": "PKCS#8 PEM"}.

  sign                            (stdin: {"private_pem", "alg", "headers", "claims"})
        Signs `claims` with the PEM key and algorithm, adding `headers` (kid,
        typ, ...) to the JOSE header. Prints {"token": "..."}. Used for client
        assertions (private_key_jwt) and an external issuer's access tokens.

  sign-many                       (stdin: {"private_pem", "alg", "headers", "claims": [...]})
        Like `sign`, for a list of claim sets in one run (the key loaded once).
        Prints {"tokens": ["...", ...]} in the same order. Used where a test
        needs many single-use tokens (e2e replicas.rs).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import sys
import uuid

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_key(alg: str):
    if alg == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if alg == "EdDSA":
        return ed25519.Ed25519PrivateKey.generate()
    if alg in ("RS256", "PS256"):
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise SystemExit(f"unsupported alg {alg}")


def public_jwk(alg: str, private_key) -> dict:
    pub = private_key.public_key()
    if alg == "ES256":
        return ECAlgorithm.to_jwk(pub, as_dict=True)
    if alg == "EdDSA":
        return OKPAlgorithm.to_jwk(pub, as_dict=True)
    return RSAAlgorithm.to_jwk(pub, as_dict=True)


REQUIRED_MEMBERS = {"EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x"), "RSA": ("e", "kty", "n")}


def thumbprint(jwk: dict) -> str:
    """RFC 7638: required members, lexicographic order, no whitespace."""
    members = {m: jwk[m] for m in REQUIRED_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def cmd_mint(args) -> int:
    keys, tokens = [], {}
    for alg in ("ES256", "EdDSA", "RS256", "PS256"):
        key = new_key(alg)
        kid = f"py-{alg.lower()}"
        jwk = public_jwk(alg, key)
        jwk.update({"kid": kid, "alg": alg, "use": "sig"})
        keys.append(jwk)
        claims = {
            "iss": args.iss,
            "sub": f"python-{alg.lower()}",
            "aud": args.aud,
            "iat": args.now,
            "nbf": args.now,
            "exp": args.now + 300,
            "jti": str(uuid.uuid4()),
            "scope": "skill.echo skill.sum",
        }
        tokens[alg] = jwt.encode(claims, key, algorithm=alg, headers={"kid": kid, "typ": "at+jwt"})
    json.dump({"jwks": {"keys": keys}, "tokens": tokens}, sys.stdout)
    print()
    return 0


def cmd_verify(args) -> int:
    doc = json.load(sys.stdin)
    jwks = jwt.PyJWKSet.from_dict(doc["jwks"])
    results, failed = [], False
    for token in doc["tokens"]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = jwks[kid]
            # The algorithm comes from the key set, never from the token.
            alg = key.algorithm_name
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=args.aud,
                issuer=args.iss,
                options={"require": ["exp", "iat", "iss", "aud", "jti"]},
            )
            results.append({"ok": True, "alg": alg, "claims": claims})
        except Exception as e:  # noqa: BLE001 - reported to the Rust side
            failed = True
            results.append({"ok": False, "error": f"{type(e).__name__}: {e}"})
    json.dump({"results": results}, sys.stdout)
    print()
    return 1 if failed and not args.allow_failures else 0


def cmd_dpop(args) -> int:
    proofs = []
    for alg in ("ES256", "EdDSA", "PS256"):
        key = new_key(alg)
        jwk = public_jwk(alg, key)
        claims = {"jti": str(uuid.uuid4()), "htm": args.htm, "htu": args.htu, "iat": args.now}
        if args.access_token is not None:
            claims["ath"] = b64url(hashlib.sha256(args.access_token.encode("ascii")).digest())
        if args.nonce is not None:
            claims["nonce"] = args.nonce
        proof = jwt.encode(claims, key, algorithm=alg, headers={"typ": "dpop+jwt", "jwk": jwk})
        proofs.append({"alg": alg, "proof": proof, "jkt": thumbprint(jwk)})
    json.dump({"proofs": proofs}, sys.stdout)
    print()
    return 0


def cmd_keygen(args) -> int:
    key = new_key(args.alg)
    jwk = public_jwk(args.alg, key)
    jwk.update({"kid": args.kid, "alg": args.alg, "use": "sig"})
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    json.dump({"jwk": jwk, "private_pem": pem}, sys.stdout)
    print()
    return 0


def cmd_sign(args) -> int:
    doc = json.load(sys.stdin)
    key = serialization.load_pem_private_key(doc["private_pem"].encode("ascii"), password=None)
    token = jwt.encode(doc["claims"], key, algorithm=doc["alg"], headers=doc.get("headers") or {})
    json.dump({"token": token}, sys.stdout)
    print()
    return 0


def cmd_sign_many(args) -> int:
    doc = json.load(sys.stdin)
    key = serialization.load_pem_private_key(doc["private_pem"].encode("ascii"), password=None)
    headers = doc.get("headers") or {}
    tokens = [jwt.encode(claims, key, algorithm=doc["alg"], headers=headers) for claims in doc["claims"]]
    json.dump({"tokens": tokens}, sys.stdout)
    print()
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("mint")
    m.add_argument("--iss", required=True)
    m.add_argument("--aud", required=True)
    m.add_argument("--now", type=int, required=True)
    v = sub.add_parser("verify")
    v.add_argument("--iss", required=True)
    v.add_argument("--aud", required=True)
    v.add_argument("--allow-failures", action="store_true", help="exit 0 even if a token is refused")
    d = sub.add_parser("dpop")
    d.add_argument("--htm", required=True)
    d.add_argument("--htu", required=True)
    d.add_argument("--now", type=int, required=True)
    d.add_argument("--access-token")
    d.add_argument("--nonce")
    k = sub.add_parser("keygen")
    k.add_argument("--alg", required=True, choices=["ES256", "EdDSA", "RS256", "PS256"])
    k.add_argument("--kid", required=True)
    sub.add_parser("sign")
    sub.add_parser("sign-many")
    args = p.parse_args()
    commands = {"mint": cmd_mint, "verify": cmd_verify, "dpop": cmd_dpop, "keygen": cmd_keygen, "sign": cmd_sign, "sign-many": cmd_sign_many}
    return commands[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
