//! Shell command extraction (to be implemented).
