"""Read a PIN on stdin, print its technician hash (install.sh; no kiosk
package needed, so it runs with the system python before any venv exists).
Same format as kiosk.technician.hash_pin."""

import base64
import hashlib
import secrets
import sys

ITERATIONS = 200_000

pin = sys.stdin.read().strip()
salt = secrets.token_bytes(16)
digest = hashlib.pbkdf2_hmac("sha256", pin.encode("utf-8"), salt, ITERATIONS)
print("pbkdf2_sha256${}${}${}".format(ITERATIONS, base64.urlsafe_b64encode(salt).decode().rstrip("="),
                                      base64.b64encode(digest).decode()))
