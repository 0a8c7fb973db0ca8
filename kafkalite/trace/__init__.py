"""Learning mode (``--trace``): every request and response logged in readable form, with
each non-zero error code explained in a sentence. Imported only when tracing is on."""
