"""Barcode / QR scanners: serial, USB HID keyboard wedge (evdev) and camera decoding."""
