"""A4 printers over IPP / CUPS (``driver``), the IPP encoding (``ipp``) and an
ippeveprinter-based simulator (``simulator``)."""
