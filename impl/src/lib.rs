//! Redis lock clients (filled in by the real-Redis issue).
