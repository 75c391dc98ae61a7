"""A fake S3 endpoint on 127.0.0.1 for the retry and bad-answer tests: answers each request with
the next of the answers given as arguments (the last one repeats) and counts the requests.
Prints its port, then serves until its standard input closes.

An answer is an HTTP status (200 answers "fake value" with an ETag; any other status S3's error
XML), optionally with a Retry-After header ("503+retry-after:2"), or the name of one of the bad
answers below, which a real server could send through a
broken proxy, a bug or a dying process.

GET /_count answers the number of requests so far (not counted).
"""
import http.server
import socket
import sys
import threading

answers = sys.argv[1:] or ["200"]
codes = {500: "InternalError", 503: "SlowDown", 403: "AccessDenied", 412: "PreconditionFailed", 400: "InvalidArgument"}
count = 0
lock = threading.Lock()
stopping = threading.Event()

# The bad answers: (status, headers, body). Missing headers get an ETag, a date and the body's
# Content-Length unless the name says otherwise (see Handler.bad).
XML = "application/xml"
BAD = {
    # A listing cut off in the middle of an element: not well-formed XML.
    "malformed-xml": (200, {"Content-Type": XML, "ETag": None},
                      b'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><Contents><Key>a</Ke'),
    # Plain text where XML belongs.
    "not-xml": (200, {"Content-Type": "text/plain", "ETag": None}, b"this is not XML at all"),
    # A 200 whose body is S3's error document (S3 does this for CompleteMultipartUpload and copies).
    "error-in-200": (200, {"Content-Type": XML, "ETag": None},
                     b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>'
                     b'<Message>We encountered an internal error. Please try again.</Message>'
                     b'<RequestId>fake-error-200</RequestId></Error>'),
    # A proxy's page in front of the server.
    "html-502": (502, {"Content-Type": "text/html", "ETag": None},
                 b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1>"
                 b"</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"),
    # A 200 without the ETag every object answer carries.
    "no-etag": (200, {"Content-Type": "application/octet-stream", "ETag": None}, b"fake value"),
    # Content-Length says 1,000 bytes; 100 come, then the connection closes.
    "truncated": (200, {"Content-Length": "1000"}, b"x" * 100),
    # Content-Length says 1,000 bytes; 100 come, then nothing more while the connection stays open.
    "stalled-body": (200, {"Content-Length": "1000"}, b"x" * 100),
    # The request is read, and no answer ever comes.
    "stalled-head": (None, {}, b""),
    # Content-Length says 10 bytes ("fake value"), and a whole second answer follows them on the
    # connection: a client that took it as the answer to its next request would read "smuggled".
    "overlong-body": (200, {"Content-Length": "10"},
                      b'fake valueHTTP/1.1 200 OK\r\nContent-Length: 8\r\nETag: "evil"\r\n\r\nsmuggled'),
    # The answers of a multipart upload: its start, a part, and an abort.
    "initiate": (200, {"Content-Type": XML, "ETag": None},
                 b'<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><Bucket>b</Bucket>'
                 b'<Key>k</Key><UploadId>fake-upload</UploadId></InitiateMultipartUploadResult>'),
    "part": (200, {"ETag": '"fake-part"'}, b""),
    # A copy that fails after it started (a 200 carrying the error), and one that succeeds.
    "200-error": (200, {"Content-Type": XML, "ETag": None},
                  b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code>'
                  b'<Message>We encountered an internal error. Please try again.</Message>'
                  b'<RequestId>fake-200</RequestId></Error>'),
    "200-copy": (200, {"Content-Type": XML, "ETag": None},
                 b'<?xml version="1.0" encoding="UTF-8"?><CopyObjectResult><LastModified>2026-12-01T23:29:31.000Z'
                 b'</LastModified><ETag>"copied"</ETag></CopyObjectResult>'),
    "no-content": (204, {"ETag": None}, b""),
}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self):
        global count
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.path == "/_count":
            body = str(count).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        with lock:
            answer = answers[min(count, len(answers) - 1)]
            count += 1
        if answer in BAD:
            return self.bad(answer, *BAD[answer])
        status, _, retry_after = answer.partition("+retry-after:")
        status = int(status)
        if status == 200:
            body = b"fake value"
            self.send_response(200)
            self.send_header("ETag", '"fake"')
            self.send_header("Last-Modified", "Tue, 01 Dec 2026 23:29:31 GMT")
        else:
            code = codes.get(status, "Error")
            body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>"
                    f"<Message>fake {status}</Message><RequestId>fake-{count}</RequestId></Error>").encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            if retry_after:
                self.send_header("Retry-After", retry_after)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def bad(self, name, status, headers, body):
        if status is None:
            stopping.wait(120)
            self.close_connection = True
            return
        self.send_response(status)
        merged = {"ETag": '"fake"', "Last-Modified": "Tue, 01 Dec 2026 23:29:31 GMT", "Content-Length": str(len(body))}
        merged.update(headers)
        for header, value in merged.items():
            if value is not None:
                self.send_header(header, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.wfile.flush()
        if name == "truncated":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif name == "stalled-body":
            stopping.wait(120)
            self.close_connection = True

    do_GET = do_PUT = do_DELETE = do_HEAD = do_POST = answer


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()
stopping.set()
server.shutdown()
