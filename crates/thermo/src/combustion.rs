//! Combustion: stoichiometric air, excess air from measured O2, flue-gas composition, humidity of air.
