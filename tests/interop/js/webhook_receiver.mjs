// Receiving Warden's push notifications in JavaScript (Node >= 20): the
// documented recipes, run by crates/warden-webhooks/tests/interop.rs.
//
// Two receivers, as docs/webhooks.md describes them:
// * with the subscription's HMAC secret (whsec_...): the official Standard
//   Webhooks library, `standardwebhooks`, unchanged, plus the webhook id kept
//   as an idempotency key;
// * with Warden's public keys (its JWKS): `jose` checks the notification JWT
//   (key, aud = this receiver's URL, freshness, jti, body hash) and
//   node:crypto the v1a Ed25519 signature.
//
// Driver: reads one JSON object on stdin, {"secret", "jwks", "url", "issuer",
// "deliveries": [{"name", "headers", "body_b64"}]}, verifies the deliveries in
// order with one receiver of each kind (so a repeated one is a replay), and
// prints one JSON line per delivery: {"name", "library", "hmac", "keys",
// "taskId"}.

// --- recipe: keys (docs/webhooks.md copies this block; a test keeps them equal)
import { createHash, createPublicKey, timingSafeEqual, verify } from "node:crypto";
import { createLocalJWKSet, decodeProtectedHeader, errors, jwtVerify } from "jose";

export class Refused extends Error {
  constructor(reason) {
    super(reason);
    this.reason = reason;
  }
}

export class WardenWebhookVerifier {
  constructor(jwks, receiverUrl, { issuer, tolerance = 300 } = {}) {
    // Only Warden's webhook keys: its token and card keys share the JWKS.
    const keys = (jwks.keys ?? []).filter(
      (k) => String(k.kid ?? "").startsWith("webhook-") && k.crv === "Ed25519",
    );
    this.jwks = createLocalJWKSet({ keys });
    this.nodeKeys = new Map(keys.map((k) => [k.kid, createPublicKey({ key: k, format: "jwk" })]));
    this.url = receiverUrl; // exactly as registered: the JWT's aud
    this.issuer = issuer; // Warden's public URL, if you pin it
    this.tolerance = tolerance; // seconds either side of now
    this.seen = new Map(); // webhook id -> when it can be forgotten
  }

  // body: the raw request body (Buffer). Returns the JWT's claims (check
  // claims.taskId is a task you expect); throws Refused.
  async verify(body, headers, now = Math.floor(Date.now() / 1000)) {
    const h = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    const id = h["webhook-id"] ?? "";
    const tsText = h["webhook-timestamp"] ?? "";
    const signatures = h["webhook-signature"] ?? "";
    const token = h["warden-notification-jwt"] ?? "";
    if (!id || !signatures || !token || !/^[0-9]{1,19}$/.test(tsText) || id.includes(".")) {
      throw new Refused("malformed");
    }
    const ts = Number(tsText);
    if (ts < now - this.tolerance) throw new Refused("stale");
    if (ts > now + this.tolerance) throw new Refused("future");

    // 1. The JWT: Warden's webhook key, meant for this URL, about this body.
    let kid;
    try {
      kid = decodeProtectedHeader(token).kid;
    } catch {
      throw new Refused("malformed");
    }
    if (!this.nodeKeys.has(kid)) throw new Refused("unknown_key");
    let claims;
    try {
      ({ payload: claims } = await jwtVerify(token, this.jwks, {
        algorithms: ["EdDSA"],
        typ: "warden-notification+jwt",
        audience: this.url,
        issuer: this.issuer,
        clockTolerance: this.tolerance,
        currentDate: new Date(now * 1000),
        requiredClaims: ["iss", "aud", "iat", "exp", "jti"],
      }));
    } catch (e) {
      if (e instanceof errors.JWTExpired) throw new Refused("stale");
      if (e instanceof errors.JWTClaimValidationFailed && e.claim === "aud") throw new Refused("wrong_audience");
      if (e instanceof errors.JWTClaimValidationFailed && e.claim === "iss") throw new Refused("wrong_issuer");
      if (e instanceof errors.JWTClaimValidationFailed && e.claim === "nbf") throw new Refused("future");
      if (e instanceof errors.JWSSignatureVerificationFailed) throw new Refused("bad_signature");
      if (e instanceof errors.JWKSNoMatchingKey) throw new Refused("unknown_key");
      throw new Refused("malformed");
    }
    if (now > claims.exp) throw new Refused("stale"); // Warden's lifetime for the JWT, no leeway
    if (claims.jti !== id || claims.iat !== ts) throw new Refused("malformed");
    const digest = Buffer.from(createHash("sha256").update(body).digest("base64url"));
    const claimed = Buffer.from(String(claims.body_sha256 ?? ""));
    if (claimed.length !== digest.length || !timingSafeEqual(claimed, digest)) {
      throw new Refused("body_swapped");
    }

    // 2. The v1a signature over "{id}.{timestamp}.{body}", by the same key.
    const content = Buffer.concat([Buffer.from(`${id}.${ts}.`), body]);
    const key = this.nodeKeys.get(kid);
    const v1a = signatures.split(" ").some((entry) => {
      const [version, b64] = entry.split(",");
      if (version !== "v1a" || b64 === undefined) return false;
      try {
        return verify(null, content, key, Buffer.from(b64, "base64"));
      } catch {
        return false;
      }
    });
    if (!v1a) throw new Refused("bad_signature");

    // 3. Each webhook id once (a retry keeps its id). Several workers: keep
    //    the ids in a shared store instead.
    for (const [seenId, until] of this.seen) if (until < now) this.seen.delete(seenId);
    if (this.seen.has(id)) throw new Refused("replayed");
    this.seen.set(id, ts + this.tolerance);
    return claims;
  }
}
// --- end of recipe: keys

// --- recipe: secret (docs/webhooks.md copies this block; a test keeps them equal)
import { Webhook, WebhookVerificationError } from "standardwebhooks";

export class HmacReceiver {
  constructor(secret) {
    this.webhook = new Webhook(secret); // the official standardwebhooks library
    this.seen = new Map();
  }

  // body: the raw request body (Buffer). Throws WebhookVerificationError on a
  // forged, stale or future notification, Refused("replayed") on a repeat.
  verify(body, headers) {
    this.webhook.verify(body, headers, { jsonParse: false });
    // The library does not remember ids: each webhook id once.
    const now = Date.now() / 1000;
    const id = Object.entries(headers).find(([k]) => k.toLowerCase() === "webhook-id")[1];
    for (const [seenId, until] of this.seen) if (until < now) this.seen.delete(seenId);
    if (this.seen.has(id)) throw new Refused("replayed");
    this.seen.set(id, now + 600);
  }
}
// --- end of recipe: secret

async function main() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const input = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const library = new Webhook(input.secret);
  const bySecret = new HmacReceiver(input.secret);
  const byKeys = new WardenWebhookVerifier(input.jwks, input.url, { issuer: input.issuer });
  for (const d of input.deliveries) {
    const body = Buffer.from(d.body_b64, "base64");
    const out = { name: d.name };
    try {
      library.verify(body, d.headers, { jsonParse: false });
      out.library = "ok";
    } catch (e) {
      if (!(e instanceof WebhookVerificationError)) throw e;
      out.library = `refused: ${e.message}`;
    }
    try {
      bySecret.verify(body, d.headers);
      out.hmac = "ok";
    } catch (e) {
      if (e instanceof Refused) out.hmac = e.reason;
      else if (e instanceof WebhookVerificationError) out.hmac = "refused";
      else throw e;
    }
    try {
      out.taskId = (await byKeys.verify(body, d.headers)).taskId;
      out.keys = "ok";
    } catch (e) {
      if (!(e instanceof Refused)) throw e;
      out.keys = e.reason;
    }
    process.stdout.write(`${JSON.stringify(out)}\n`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e) => {
    process.stderr.write(`${e.stack}\n`);
    process.exit(2);
  });
}
