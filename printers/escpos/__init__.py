"""ESC/POS thermal printers: encoder (bytes), transports (by URL), status
(DLE EOT), layouts (data templates), the driver and a TCP simulator that turns
the same bytes back into an image of the paper."""
