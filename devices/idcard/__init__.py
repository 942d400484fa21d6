"""Second-generation ID-card reader (GA 467 SAM_V): protocol, text layouts, photo decoders, driver, simulator."""
