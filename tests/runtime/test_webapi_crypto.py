"""crypto in scripts agrees with Python: hashlib digests, hmac signatures, PyJWT HS256 tokens."""

import base64
import hashlib
import hmac
import uuid

import jwt
import pytest

from webapi_support import WebJS

HASHES = {"SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}
SECRET = "s3cr3t-🔑-long-enough-for-an-hs256-key"
SAMPLES = [b"", b"abc", bytes(range(256)), "héllo wörld €𝄞".encode(), bytes(range(256)) * 300]

# base64url helpers and an HS256 JWT maker/verifier written as a script author would.
JWT_JS = """
const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
const unb64url = (text) => Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), c => c.charCodeAt(0));
const enc = new TextEncoder();
const hmacKey = (secret, usage) =>
  crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [usage]);
async function signJwt(payload, secret) {
  const head = b64url(enc.encode(JSON.stringify({ alg: 'HS256', typ: 'JWT' })));
  const body = b64url(enc.encode(JSON.stringify(payload)));
  const sig = await crypto.subtle.sign('HMAC', await hmacKey(secret, 'sign'), enc.encode(head + '.' + body));
  return head + '.' + body + '.' + b64url(sig);
}
async function verifyJwt(token, secret) {
  const [head, body, sig] = token.split('.');
  const ok = await crypto.subtle.verify('HMAC', await hmacKey(secret, 'verify'), unb64url(sig), enc.encode(head + '.' + body));
  return ok ? JSON.parse(new TextDecoder().decode(unb64url(body))) : null;
}
"""


@pytest.fixture(scope="module")
def js():
    return WebJS()


def b64(data):
    return base64.b64encode(data).decode()


@pytest.mark.parametrize("algorithm", sorted(HASHES))
def test_digests_match_hashlib(js, algorithm):
    got = js.wait(
        """const out = [];
        for (const s of dukpy.samples) {
          const data = Uint8Array.from(atob(s), c => c.charCodeAt(0));
          out.push(btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest(dukpy.alg, data)))));
        }
        return out;""", samples=[b64(s) for s in SAMPLES], alg=algorithm)
    assert got == [b64(hashlib.new(HASHES[algorithm], s).digest()) for s in SAMPLES]


def test_digest_accepts_algorithm_objects_views_and_any_case(js):
    got = js.wait("""const data = new Uint8Array([0, 97, 98, 99, 0]).subarray(1, 4);
      const hex = (b) => Array.from(new Uint8Array(b), x => x.toString(16).padStart(2, '0')).join('');
      return [hex(await crypto.subtle.digest({ name: 'sha-256' }, data)),
              hex(await crypto.subtle.digest('SHA-1', data.buffer.slice(1, 4)))];""")
    assert got == [hashlib.sha256(b"abc").hexdigest(), hashlib.sha1(b"abc").hexdigest()]


@pytest.mark.parametrize("algorithm", sorted(HASHES))
def test_hmac_sign_and_verify_match_python(js, algorithm):
    key, message = bytes(range(7, 77)), b"webhook body \x00\xff" * 50
    expected = hmac.new(key, message, HASHES[algorithm]).digest()
    got = js.wait(
        """const bytes = (s) => Uint8Array.from(atob(s), c => c.charCodeAt(0));
        const key = await crypto.subtle.importKey('raw', bytes(dukpy.key), { name: 'HMAC', hash: { name: dukpy.alg } },
                                                  true, ['sign', 'verify']);
        const sig = await crypto.subtle.sign({ name: 'HMAC' }, key, bytes(dukpy.msg));
        const tampered = bytes(dukpy.msg); tampered[0] ^= 1;
        return [btoa(String.fromCharCode(...new Uint8Array(sig))),
                await crypto.subtle.verify('HMAC', key, bytes(dukpy.expected), bytes(dukpy.msg)),
                await crypto.subtle.verify('HMAC', key, bytes(dukpy.expected), tampered),
                await crypto.subtle.verify('HMAC', key, bytes(dukpy.expected).slice(1), bytes(dukpy.msg)),
                key.algorithm, key.type, key.usages];""",
        key=b64(key), msg=b64(message), alg=algorithm, expected=b64(expected))
    assert got == [b64(expected), True, False, False,
                   {"name": "HMAC", "hash": {"name": algorithm}, "length": len(key) * 8}, "secret", ["sign", "verify"]]


def test_jwt_made_in_a_script_verifies_with_pyjwt(js):
    token = js.wait(JWT_JS + "return await signJwt({ sub: 'ana', admin: true, n: 'Zoë' }, dukpy.secret);",
                    secret=SECRET)
    assert jwt.decode(token, SECRET, algorithms=["HS256"]) == {"sub": "ana", "admin": True, "n": "Zoë"}
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, SECRET + "x", algorithms=["HS256"])


def test_jwt_made_by_pyjwt_verifies_in_a_script(js):
    token = jwt.encode({"sub": "ana", "scope": ["a", "b"]}, SECRET, algorithm="HS256")
    got = js.wait(JWT_JS + "return [await verifyJwt(dukpy.token, dukpy.secret), await verifyJwt(dukpy.token, 'x' + dukpy.secret)];",
                  token=token, secret=SECRET)
    assert got == [{"sub": "ana", "scope": ["a", "b"]}, None]


def test_jwk_import_export_and_generated_keys(js):
    key = b"0123456789abcdef0123456789abcdef"
    k = base64.urlsafe_b64encode(key).rstrip(b"=").decode()
    got = js.wait("""const jwk = { kty: 'oct', k: dukpy.k, alg: 'HS256' };
      const key = await crypto.subtle.importKey('jwk', jwk, { name: 'HMAC', hash: 'SHA-256' }, true, ['sign']);
      const raw = new Uint8Array(await crypto.subtle.exportKey('raw', key));
      const back = await crypto.subtle.exportKey('jwk', key);
      const gen = await crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-512' }, true, ['sign', 'verify']);
      const genRaw = new Uint8Array(await crypto.subtle.exportKey('raw', gen));
      const sig = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode('m'));
      return [btoa(String.fromCharCode(...raw)), back.k, back.alg, genRaw.length, gen.algorithm.length,
              btoa(String.fromCharCode(...new Uint8Array(sig)))];""", k=k)
    assert got == [b64(key), k, "HS256", 128, 1024, b64(hmac.new(key, b"m", "sha256").digest())]


@pytest.mark.parametrize("call, error", [
    ("crypto.subtle.digest('MD5', new Uint8Array(1))", "NotSupportedError"),
    ("crypto.subtle.digest('SHA-256', 'text')", "TypeError"),
    ("crypto.subtle.importKey('raw', new Uint8Array(4), { name: 'HMAC', hash: 'SHA-256' }, false, ['encrypt'])",
     "SyntaxError"),
    ("crypto.subtle.importKey('raw', new Uint8Array(4), { name: 'AES-GCM' }, false, ['encrypt'])",
     "NotSupportedError"),
    ("crypto.subtle.importKey('raw', new Uint8Array(4), { name: 'HMAC', hash: 'SHA-256' }, false, ['verify'])"
     ".then(k => crypto.subtle.sign('HMAC', k, new Uint8Array(1)))", "InvalidAccessError"),
    ("crypto.subtle.importKey('raw', new Uint8Array(4), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])"
     ".then(k => crypto.subtle.exportKey('raw', k))", "InvalidAccessError"),
])
def test_subtle_errors_are_rejections_with_the_standard_names(js, call, error):
    assert js.wait(f"const p = {call}; return [p instanceof Promise, await p.then(() => 'resolved', e => e.name)];") \
        == [True, error]


def test_random_uuid_and_get_random_values(js):
    got = js.wait("""const a = new Uint32Array(16); const r = crypto.getRandomValues(a);
      const big = new Uint8Array(65536); crypto.getRandomValues(big);
      const errors = [];
      for (const bad of [() => crypto.getRandomValues(new Float64Array(2)),
                         () => crypto.getRandomValues(new Uint8Array(65537))]) {
        try { bad(); errors.push(null); } catch (e) { errors.push(e.name); }
      }
      return [r === a, new Set(a).size, big.some(x => x !== 0), errors,
              [crypto.randomUUID(), crypto.randomUUID()]];""")
    same, distinct, nonzero, errors, uuids = got
    assert same and distinct == 16 and nonzero
    assert errors == ["TypeMismatchError", "QuotaExceededError"]
    assert [uuid.UUID(u).version for u in uuids] == [4, 4] and uuids[0] != uuids[1]
    assert all(u == str(uuid.UUID(u)) for u in uuids)
