"""PC/SC smart cards: social security and bank cards, with a virtual card served through pcscd + vpcd."""
