"""Cases that are never lost: the encrypted case store with its outbox, the
sync worker, the central platform client and the sandbox central platform."""
