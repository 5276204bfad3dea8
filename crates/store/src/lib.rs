//! Persistence of facilities, readings and calculations behind one interface, with an
//! embedded SQLite and a PostgreSQL implementation and reversible migrations.
//!
//! Architecture invariant: only this crate knows SQL. Its content arrives with the service
//! issue; until then the crate holds nothing.
