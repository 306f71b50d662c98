"""Runs moto server on 127.0.0.1:PORT for Plinth's tests.

Usage: python moto_server.py PORT

Extended by the AWS provider tests with launcher-side fixes and fault injection (see
EMULATORS.md); never change product code to suit the emulator.
"""
import sys
import threading

from moto.server import ThreadedMotoServer


def main() -> None:
    port = int(sys.argv[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    print(f"moto listening on 127.0.0.1:{port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
