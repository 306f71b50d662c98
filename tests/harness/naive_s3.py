"""A deliberately naive S3-compatible server for Plinth's state backend tests.

Usage: python naive_s3.py PORT

It stores objects in memory and IGNORES conditional-write headers (If-None-Match,
If-Match), as some S3-compatible servers do. The S3 state backend must detect this and
refuse to use the endpoint. Listens on 127.0.0.1 only.
"""
import hashlib
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OBJECTS = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _reply(self, status, body=b"", headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(length)
        if "aws-chunked" in (self.headers.get("Content-Encoding") or ""):
            # Decode aws-chunked framing: "<hex>[;ext]\r\n<data>\r\n" ... "0\r\n<trailers>\r\n\r\n".
            out, rest = b"", data
            while rest:
                line, _, rest = rest.partition(b"\r\n")
                size = int(line.split(b";")[0], 16)
                if size == 0:
                    break
                out, rest = out + rest[:size], rest[size + 2:]
            data = out
        return data

    def do_PUT(self):
        data = self._body()
        OBJECTS[self.path.split("?")[0]] = data
        etag = '"%s"' % hashlib.md5(data).hexdigest()
        self._reply(200, headers={"ETag": etag})

    def do_GET(self):
        data = OBJECTS.get(self.path.split("?")[0])
        if data is None:
            body = b"<Error><Code>NoSuchKey</Code><Message>none</Message></Error>"
            self._reply(404, body, {"Content-Type": "application/xml"})
        else:
            self._reply(200, data, {"ETag": '"%s"' % hashlib.md5(data).hexdigest()})

    def do_DELETE(self):
        OBJECTS.pop(self.path.split("?")[0], None)
        self._reply(204)


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
