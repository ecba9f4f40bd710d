"""Calls to livegate's private API: mint a token, publish an invalidation."""

import json
import urllib.error
import urllib.request


class LivegateError(Exception):
    pass


class Livegate:
    def __init__(self, private_url, api_key, timeout=5.0):
        self.base = private_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    def _post(self, path, body, want_status):
        req = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {self.api_key}",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as res:
                status, raw = res.status, res.read(1 << 20)
        except urllib.error.HTTPError as e:
            raise LivegateError(f"POST {path}: HTTP {e.code} {e.read(2048)!r}") from None
        except (urllib.error.URLError, OSError) as e:
            raise LivegateError(f"POST {path}: {e}") from None
        if status != want_status:
            raise LivegateError(f"POST {path}: HTTP {status}, expected {want_status}")
        try:
            return json.loads(raw)
        except ValueError:
            raise LivegateError(f"POST {path}: answer is not JSON: {raw[:200]!r}") from None

    def token(self, channels, ttl=None, iat=None):
        """A token for a render that read its data at iat (seconds; default:
        livegate's clock at the call)."""
        body = {"channels": channels}
        if ttl is not None:
            body["ttl"] = ttl
        if iat is not None:
            body["iat"] = round(iat, 3)
        answer = self._post("/v1/tokens", body, 201)
        if not isinstance(answer, dict) or not isinstance(answer.get("token"), str):
            raise LivegateError(f"POST /v1/tokens: no token in {answer!r}")
        return answer["token"]

    def publish(self, channel, data):
        return self._post("/v1/publish", {"channel": channel, "data": data}, 202)
