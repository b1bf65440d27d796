//! Integration tests: the real `hestia` binary on a free port.
