"""Writes the test certificates (support.Certs) into a directory, for the TypeScript tests:
ca.pem, server.pem/.key, client.pem/.key, other-ca.pem, stranger.pem/.key."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import Certs  # noqa: E402

if __name__ == "__main__":
    Certs(Path(sys.argv[1]))
