"""A fake S3 endpoint on 127.0.0.1 for the retry tests: answers each request with the next of
the statuses given as arguments (the last one repeats), with S3's error XML for errors, and
counts the requests. Prints its port, then serves until its standard input closes.

Two answers are not statuses: `200-error` is a 200 whose body is an InternalError document (as
S3 answers a CopyObject that fails after it started), `200-copy` a 200 with a CopyObjectResult.

GET /_count answers the number of requests so far (not counted).
"""
import http.server
import sys
import threading

statuses = sys.argv[1:] or ["200"]
codes = {500: "InternalError", 503: "SlowDown", 403: "AccessDenied", 412: "PreconditionFailed", 400: "InvalidArgument"}
count = 0
lock = threading.Lock()


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
            status = statuses[min(count, len(statuses) - 1)]
            count += 1
        if status == "200-error":
            body = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InternalError</Code>"
                    b"<Message>We encountered an internal error. Please try again.</Message><RequestId>fake-200</RequestId></Error>")
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
        elif status == "200-copy":
            body = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><CopyObjectResult><LastModified>2026-12-01T23:29:31.000Z"
                    b"</LastModified><ETag>\"copied\"</ETag></CopyObjectResult>")
            self.send_response(200)
            self.send_header("Content-Type", "application/xml")
        elif status == "200":
            body = b"fake value"
            self.send_response(200)
            self.send_header("ETag", '"fake"')
            self.send_header("Last-Modified", "Tue, 01 Dec 2026 23:29:31 GMT")
        else:
            status = int(status)
            code = codes.get(status, "Error")
            body = (f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code>"
                    f"<Message>fake {status}</Message><RequestId>fake-{count}</RequestId></Error>").encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_DELETE = do_HEAD = do_POST = answer


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()
server.shutdown()
