"""Printing: ESC/POS queue tickets and receipts (``printers.escpos``), A4
certificates over CUPS/IPP (``printers.a4``) and signed documents
(``printers.documents``).  Command-line entry points live in ``printers.cli``.
"""
