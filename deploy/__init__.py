"""Deployment files (systemd units, udev rules, profiles) and the installer."""
