#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora under fuzz/corpus/<target>/ (ignored by
git): the shapes the tests use, and every body of ../shared/corpus/meta-webhooks/
where that folder exists (it is read, never copied into the repository)."""
import base64, hashlib, hmac, json, os, pathlib

HERE = pathlib.Path(__file__).resolve().parent
SECRET = b"fuzz-app-secret"  # graphhook_fuzz::SECRET
SHARED = pathlib.Path(os.environ.get("GRAPHHOOK_WEBHOOK_CORPUS", HERE / "../../shared/corpus/meta-webhooks"))


def write(target, name, data):
    folder = HERE / "corpus" / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def sign(body):
    return b"sha256=" + hmac.new(SECRET, body, hashlib.sha256).hexdigest().encode()


bodies = {
    "comment": b'{"object":"instagram","entry":[{"id":"17841400000000001","time":1700000000,"changes":[{"field":"comments","value":{"id":"179","text":"nice \\u00e9 \\/","media":{"id":"180","media_product_type":"FEED"},"from":{"id":"5","username":"u"}}}]}]}',
    "messaging": b'{"object":"instagram","entry":[{"id":"1","time":1700000000000,"messaging":[{"sender":{"id":"2"},"recipient":{"id":"1"},"timestamp":1700000000000,"message":{"mid":"m1","text":"hi"}}]}]}',
    "permissions": b'{"object":"permissions","entry":[{"id":"42","uid":"42","time":1700000000,"changes":[{"field":"instagram_basic","value":{"verb":"revoked"}}]}]}',
    "feed": b'{"object":"page","entry":[{"id":"9","time":1700000000,"changes":[{"field":"feed","value":{"item":"status","verb":"add","post_id":"9_1","published":1}}]}]}',
    "changed_fields": b'{"object":"user","entry":[{"uid":"7","id":"7","time":1700000000,"changed_fields":["email"]}]}',
    "empty": b'{"object":"instagram","entry":[]}',
}
if SHARED.is_dir():
    for path in sorted(SHARED.glob("*.json")):
        bodies["shared-" + path.stem] = path.read_bytes()

for name, body in bodies.items():
    write("envelope", name, body)
    write("signature", name + "-true", b"\x00" + sign(body) + b"\x00" + body)
    write("signature", name + "-near", b"\x01\x07\x41\x00" + body)
    write("signature", name + "-upper", b"\x00" + sign(body).upper() + b"\x00" + body)

for name, payload in {
    "deauthorize": {"algorithm": "HMAC-SHA256", "issued_at": 1700000000, "user_id": "218471"},
    "expires": {"algorithm": "HMAC-SHA256", "expires": 1291840400, "issued_at": 1291836800, "user_id": "218471"},
    "other-algorithm": {"algorithm": "HMAC-SHA1", "issued_at": 1700000000, "user_id": "1"},
}.items():
    encoded = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=")
    sig = base64.urlsafe_b64encode(hmac.new(SECRET, encoded, hashlib.sha256).digest()).rstrip(b"=")
    write("signed_request", name, b"signed_request=" + sig + b"." + encoded)
write("signed_request", "garbage", b"signed_request=garbage")

for name, request in {
    "image": {"request_id": "api-1", "kind": "image", "image_url": "https://cdn.example/a.jpg", "caption": "hi"},
    "reel": {"request_id": "topic-1", "app_id": "1", "account_id": "2", "kind": "reel", "video_url": "https://cdn.example/r.mp4", "options": {"share_to_feed": "true"}},
    "story": {"request_id": "s", "kind": "story", "image_url": "https://cdn.example/s.jpg"},
    "carousel": {"request_id": "c", "kind": "carousel", "children": [{"image_url": "https://c/1.jpg"}, {"video_url": "https://c/2.mp4"}]},
    "page_post": {"request_id": "p", "kind": "page_post", "message": "hello", "link": "https://example.com"},
    "container": {"request_id": "t", "kind": "image", "container_id": "17890000000000000", "publish": False, "not_before_ms": 1700000000000},
}.items():
    write("publish_request", name, json.dumps(request).encode())

app_usage = b'{"call_count":28,"total_time":25,"total_cputime":25}'
business = b'{"17841400000000001":[{"type":"instagram","call_count":95,"total_cputime":20,"total_time":30,"estimated_time_to_regain_access":12}]}'
for name, (status, body) in {
    "ok": (200, b'{"id":"17890000000000000"}'),
    "empty": (200, b""),
    "token": (400, b'{"error":{"message":"Error validating access token","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"AbC","is_transient":false}}'),
    "app-limit": (403, b'{"error":{"code":4,"is_transient":true}}'),
    "account-limit": (400, b'{"error":{"code":80002}}'),
    "not-ready": (400, b'{"error":{"code":9,"error_subcode":2207027}}'),
    "deleted": (400, b'{"error":{"code":100,"error_subcode":33}}'),
    "quota": (400, b'{"error":{"code":9,"error_subcode":2207042}}'),
    "server": (500, b"<html>oops</html>"),
}.items():
    for kind in range(3):
        head = (status - 100).to_bytes(2, "big") + bytes([kind])
        write("graph_answer", f"{name}-{kind}", head + app_usage + b"\x00" + business + b"\x00" + body)
print("seeded", ", ".join(sorted(p.name for p in (HERE / "corpus").iterdir())))
