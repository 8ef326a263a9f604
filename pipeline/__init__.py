"""The event pipeline behind the gateway: the streams events are written to (pipeline.streams)
and, next, the readers that move them on to the warehouse."""
