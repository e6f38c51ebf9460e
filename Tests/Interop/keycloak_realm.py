#!/usr/bin/env python3
"""A stand-in for a Keycloak realm, for the external-issuer tests: an OpenID discovery document and a JWK Set served
on a loopback port, and tokens shaped like Keycloak's access tokens minted with joserfc (PyPI), an independent JOSE
implementation.

    keycloak_realm.py PORT REALM READY_FILE

GET  /realms/REALM/.well-known/openid-configuration   discovery (issuer http://127.0.0.1:PORT/realms/REALM)
GET  /realms/REALM/protocol/openid-connect/certs      the JWK Set: an RS256 and an ES256 signing key, and an
                                                      RSA-OAEP encryption key (as Keycloak serves)
POST /mint     {"alg": "RS256"|"ES256", "claims": {...}, "kid": optional}  -> the token (defaults: a Keycloak
               access token for user "maria" expiring in 5 minutes; given claims replace them, null removes one)
POST /rotate   a new RS256 key with a new kid replaces the old one
GET  /stats    {"certs": how often the key set was fetched}
"""
import http.server
import json
import sys
import threading
import time
import uuid

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

port, realm, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3]
issuer = f"http://127.0.0.1:{port}/realms/{realm}"
lock = threading.Lock()
state = {"certs": 0}


def rsa_key():
    return RSAKey.generate_key(2048, parameters={"kid": "rsa-" + uuid.uuid4().hex[:8], "alg": "RS256", "use": "sig"})


keys = {
    "RS256": rsa_key(),
    "ES256": ECKey.generate_key("P-256", parameters={"kid": "ec-" + uuid.uuid4().hex[:8], "alg": "ES256", "use": "sig"}),
}
encryption = RSAKey.generate_key(2048, parameters={"kid": "enc-1", "alg": "RSA-OAEP", "use": "enc"})


def jwks():
    return {"keys": [key.as_dict(private=False) for key in list(keys.values()) + [encryption]]}


def mint(request):
    alg = request.get("alg", "RS256")
    now = int(time.time())
    claims = {
        "exp": now + 300, "iat": now, "jti": str(uuid.uuid4()), "iss": issuer, "aud": ["biz-retail-api", "account"],
        "sub": "f1b2c3d4-0000-4000-8000-000000000001", "typ": "Bearer", "azp": "loja-web", "scope": "openid email profile",
        "realm_access": {"roles": ["default-roles-" + realm, "offline_access"]},
        "resource_access": {"biz-retail-api": {"roles": []}, "account": {"roles": ["manage-account"]}},
        "preferred_username": "maria", "email_verified": True,
    }
    for name, value in request.get("claims", {}).items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    key = keys[alg]
    header = {"alg": alg, "typ": "JWT", "kid": request.get("kid", key.kid)}
    return jwt.encode(header, claims, key)


class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self, status, body, content_type="application/json"):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with lock:
            if self.path == f"/realms/{realm}/.well-known/openid-configuration":
                self.answer(200, {"issuer": issuer, "jwks_uri": issuer + "/protocol/openid-connect/certs",
                                  "authorization_endpoint": issuer + "/protocol/openid-connect/auth",
                                  "token_endpoint": issuer + "/protocol/openid-connect/token",
                                  "id_token_signing_alg_values_supported": ["RS256", "ES256"]})
            elif self.path == f"/realms/{realm}/protocol/openid-connect/certs":
                state["certs"] += 1
                self.answer(200, jwks())
            elif self.path == "/stats":
                self.answer(200, {"certs": state["certs"]})
            else:
                self.answer(404, {"error": "not found"})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        with lock:
            if self.path == "/mint":
                self.answer(200, mint(body), "application/jwt")
            elif self.path == "/rotate":
                keys["RS256"] = rsa_key()
                self.answer(200, {"kid": keys["RS256"].kid})
            else:
                self.answer(404, {"error": "not found"})

    def log_message(self, *_):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
with open(ready, "w") as file:
    file.write(issuer)
server.serve_forever()
