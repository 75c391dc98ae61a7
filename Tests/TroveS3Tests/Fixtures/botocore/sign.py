"""Signs requests with botocore's S3 signers, for the differential signing test.

Reads a JSON array of requests on standard input and writes a JSON array with, for each, the
canonical request, the string to sign, the signature and what botocore would send (the
Authorization header, or the presigned query).
"""
import base64
import json
import sys

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import percent_encode


def sign(case):
    credentials = Credentials(case["access"], case["secret"], case.get("token"))
    url = "http://" + case["host"] + percent_encode(case["path"], safe="/~")
    request = AWSRequest(method=case["method"], url=url, data=base64.b64decode(case["body"]),
                         params=dict(case["query"]))
    for name, value in case["headers"]:
        request.headers[name] = value  # appends: repeated names stay repeated
    request.context["timestamp"] = case["timestamp"]
    if case["presign"]:
        auth = S3SigV4QueryAuth(credentials, "s3", case["region"], expires=case["expires"])
    else:
        auth = S3SigV4Auth(credentials, "s3", case["region"])
        if case["unsigned"]:
            auth._should_sha256_sign_payload = lambda request: False
    auth._modify_request_before_signing(request)
    canonical = auth.canonical_request(request)
    string_to_sign = auth.string_to_sign(request, canonical)
    signature = auth.signature(string_to_sign, request)
    auth._inject_signature_to_request(request, signature)
    query = request.url.split("?", 1)[1] if "?" in request.url else ""
    return {
        "canonicalRequest": canonical,
        "stringToSign": string_to_sign,
        "signature": signature,
        "authorization": request.headers.get("Authorization", ""),
        "query": query,
    }


json.dump([sign(case) for case in json.load(sys.stdin)], sys.stdout)
