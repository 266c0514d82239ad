"""Gets a DPoP-bound token from Warden and prints proofs for calls with it.

Usage: dpop_flow.py --token-url URL --api-key KEY --audience AGENT --call-url URL [--proofs N]

Prints one JSON object: {"token_type", "token", "jkt", "proofs": [...]}, where
each proof is for `POST <call-url>` bound to the token (`ath`). Used by the
end-to-end tests to exercise DPoP at the gateway (reuse, replay, binding).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
import uuid

import httpx
import jwt

import pyjwt_tool


def proof(key, jwk: dict, method: str, url: str, token: str | None = None) -> str:
    claims = {'jti': str(uuid.uuid4()), 'htm': method, 'htu': url, 'iat': int(time.time())}
    if token is not None:
        claims['ath'] = pyjwt_tool.b64url(hashlib.sha256(token.encode('ascii')).digest())
    return jwt.encode(claims, key, algorithm='ES256', headers={'typ': 'dpop+jwt', 'jwk': jwk})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--token-url', required=True)
    ap.add_argument('--api-key', required=True)
    ap.add_argument('--audience', required=True)
    ap.add_argument('--call-url', required=True)
    ap.add_argument('--proofs', type=int, default=3)
    args = ap.parse_args()
    key = pyjwt_tool.new_key('ES256')
    jwk = pyjwt_tool.public_jwk('ES256', key)
    r = httpx.post(
        args.token_url,
        data={'grant_type': 'client_credentials', 'audience': args.audience},
        headers={'X-API-Key': args.api_key, 'DPoP': proof(key, jwk, 'POST', args.token_url)},
        timeout=10.0,
    )
    if r.status_code != 200:
        print(json.dumps({'error': r.status_code, 'body': r.text}))
        return 1
    body = r.json()
    token = body['access_token']
    out = {
        'token_type': body['token_type'],
        'token': token,
        'jkt': pyjwt_tool.thumbprint(jwk),
        'proofs': [proof(key, jwk, 'POST', args.call_url, token) for _ in range(args.proofs)],
        'wrong_method_proof': proof(key, jwk, 'GET', args.call_url, token),
    }
    json.dump(out, sys.stdout)
    print()
    return 0


if __name__ == '__main__':
    sys.exit(main())
