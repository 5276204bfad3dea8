//! Fuels: definitions by gas composition or ultimate analysis, heating values, a library of standard fuels.
